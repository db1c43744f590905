"""A fake speech synthesizer whose audio length follows the text, with word timings, a time
to first byte, a generation speed and failures on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Collection
from dataclasses import dataclass

from voice_agent.adapters.audio.signal import tone
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.tts import (
    SpanDetail,
    SynthesizedAudio,
    SynthesizedSpan,
    TtsCapabilities,
    TtsEvent,
)


@dataclass(frozen=True, slots=True)
class FakeTtsSettings:
    ttfb_s: float = 0.1
    """First text received -> first audio chunk."""
    chars_per_second: float = 15.0
    """Speaking rate: a 30-character phrase is 2 s of audio."""
    realtime_factor: float = 0.1
    """Generation time per second of audio after the first chunk."""
    chunk_s: float = 0.1
    word_timings: bool = True
    """Emit one span per word; otherwise one span per text piece."""
    fail_on_calls: Collection[int] = ()
    """Zero-based indexes of `synthesize` calls that fail before any audio."""
    fail_after_chunks: int | None = None
    """Fail every call after this many audio chunks."""


class FakeTextToSpeech:
    def __init__(self, settings: FakeTtsSettings | None = None) -> None:
        self.settings = settings or FakeTtsSettings()
        self.requests: list[list[str]] = []
        self.characters = 0
        self.cancelled = 0

    @property
    def capabilities(self) -> TtsCapabilities:
        return TtsCapabilities(
            spans=SpanDetail.WORD if self.settings.word_timings else SpanDetail.PHRASE
        )

    async def synthesize(
        self, text: AsyncIterable[str], *, sample_rate: int
    ) -> AsyncIterator[TtsEvent]:
        call = len(self.requests)
        pieces: list[str] = []
        self.requests.append(pieces)
        s = self.settings
        timeline = 0.0
        chunks = 0
        finished = False
        try:
            async for piece in text:
                pieces.append(piece)
                self.characters += len(piece)
                if not piece.strip():
                    continue
                if chunks == 0:
                    await asyncio.sleep(s.ttfb_s)
                    if call in s.fail_on_calls:
                        raise ProviderUnavailable("fake-tts", "synthesis failed")
                duration = len(piece.strip()) / s.chars_per_second
                for span in _spans(piece, timeline, duration, per_word=s.word_timings):
                    yield span
                remaining = duration
                while remaining > 1e-9:
                    if s.fail_after_chunks is not None and chunks >= s.fail_after_chunks:
                        raise ProviderUnavailable("fake-tts", "stream broke mid-reply")
                    size = min(s.chunk_s, remaining)
                    if chunks:
                        await asyncio.sleep(size * s.realtime_factor)
                    yield SynthesizedAudio(tone(size, sample_rate))
                    chunks += 1
                    remaining -= size
                timeline += duration
            finished = True
        finally:
            if not finished:
                self.cancelled += 1


def _spans(piece: str, start: float, duration: float, *, per_word: bool) -> list[SynthesizedSpan]:
    text = piece.strip()
    if not per_word:
        return [SynthesizedSpan(text, start, start + duration)]
    words = text.split()
    total = sum(len(w) + 1 for w in words)
    spans: list[SynthesizedSpan] = []
    at = start
    for word in words:
        length = duration * (len(word) + 1) / total
        spans.append(SynthesizedSpan(word, at, at + length))
        at += length
    return spans
