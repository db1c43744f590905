"""The contract every `TextToSpeech` adapter passes: subclass and provide `tts`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from voice_agent.application.ports.tts import (
    SpanDetail,
    SynthesizedAudio,
    SynthesizedSpan,
    TextToSpeech,
    TtsEvent,
)

TIMEOUT_S = 60.0
SHORT = "Hello there."
LONG = "Thank you for calling. We are open from nine to five, Monday to Friday."


async def _pieces(*pieces: str) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece


async def _synthesize(tts: TextToSpeech, *pieces: str, rate: int = 16000) -> list[TtsEvent]:
    return [e async for e in tts.synthesize(_pieces(*pieces), sample_rate=rate)]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _audio_seconds(events: list[TtsEvent]) -> float:
    return sum(e.chunk.duration for e in events if isinstance(e, SynthesizedAudio))


class TextToSpeechContract:
    @pytest.mark.parametrize("rate", [8000, 16000, 24000])
    async def test_audio_comes_at_the_requested_rate(self, tts: TextToSpeech, rate: int) -> None:
        events = await asyncio.wait_for(_synthesize(tts, SHORT, rate=rate), TIMEOUT_S)
        chunks = [e.chunk for e in events if isinstance(e, SynthesizedAudio)]
        assert chunks
        assert {c.sample_rate for c in chunks} == {rate}

    async def test_audio_length_follows_the_text(self, tts: TextToSpeech) -> None:
        short = _audio_seconds(await asyncio.wait_for(_synthesize(tts, SHORT), TIMEOUT_S))
        long = _audio_seconds(await asyncio.wait_for(_synthesize(tts, LONG), TIMEOUT_S))
        assert short > 0.2
        assert long > 2 * short

    async def test_audio_starts_before_the_rest_of_the_text_exists(self, tts: TextToSpeech) -> None:
        """Streaming input: the second phrase is only written after the first audio came
        out; an adapter that waited for all the text would time out here."""
        first_audio = asyncio.Event()

        async def text() -> AsyncIterator[str]:
            yield "Thank you for calling. "
            await first_audio.wait()
            yield "How can I help you today?"

        async def run() -> float:
            seconds = 0.0
            async for event in tts.synthesize(text(), sample_rate=16000):
                if isinstance(event, SynthesizedAudio):
                    first_audio.set()
                    seconds += event.chunk.duration
            return seconds

        assert await asyncio.wait_for(run(), TIMEOUT_S) > 1.0

    async def test_spans_are_those_declared_and_cover_the_text_in_order_within_the_audio(
        self, tts: TextToSpeech
    ) -> None:
        """The heard text of a cut-off reply comes from these spans: an adapter declaring
        spans (`capabilities.spans`) must emit them, one per word or one per text piece."""
        pieces = ("Good morning. ", LONG)
        events = await asyncio.wait_for(_synthesize(tts, *pieces), TIMEOUT_S)
        spans = [e for e in events if isinstance(e, SynthesizedSpan)]
        detail = tts.capabilities.spans
        if detail is SpanDetail.NONE:
            assert spans == []
            return
        total = _audio_seconds(events)
        starts = [s.start for s in spans]
        assert starts == sorted(starts)
        assert all(0 <= s.start <= s.end <= total + 0.05 for s in spans)
        if detail is SpanDetail.WORD:
            assert _words(" ".join(s.text for s in spans)) == _words(" ".join(pieces))
            assert all(len(_words(s.text)) == 1 for s in spans)
        else:
            assert [s.text for s in spans] == [p.strip() for p in pieces]

    async def test_closing_the_stream_midway_stops_cleanly(self, tts: TextToSpeech) -> None:
        stream = tts.synthesize(_pieces(LONG, LONG), sample_rate=16000)
        async for event in stream:
            if isinstance(event, SynthesizedAudio):
                break
        await stream.aclose()  # type: ignore[attr-defined]
        after = await asyncio.wait_for(_synthesize(tts, SHORT), TIMEOUT_S)
        assert _audio_seconds(after) > 0

    async def test_no_text_gives_no_audio(self, tts: TextToSpeech) -> None:
        events = await asyncio.wait_for(_synthesize(tts, "", "  "), TIMEOUT_S)
        assert _audio_seconds(events) == 0
