"""The contract every `SpeechToText` adapter passes: subclass and provide the fixtures
`stt` (the adapter), `utterance` (caller speech followed by at least 1 s of silence) and
`expected_words` (words that must be recognized in it)."""

from __future__ import annotations

import asyncio

from tests.contract.helpers import collect_until, normalized_words, push_frames
from voice_agent.adapters.audio.signal import resample
from voice_agent.application.ports.stt import (
    FinalTranscript,
    SpeechStarted,
    SpeechToText,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.domain.audio import AudioChunk


def _turn_ended(events: list[SttEvent]) -> bool:
    return any(
        isinstance(e, UtteranceEnded) or (isinstance(e, FinalTranscript) and e.speech_final)
        for e in events
    )


def _final_text(events: list[SttEvent]) -> str:
    return " ".join(e.text for e in events if isinstance(e, FinalTranscript)).strip()


class SpeechToTextContract:
    async def test_an_utterance_is_recognized_and_its_end_is_marked(
        self, stt: SpeechToText, utterance: AudioChunk, expected_words: list[str]
    ) -> None:
        session = await stt.open_session()
        try:
            await push_frames(session, utterance)
            events = await collect_until(session.events(), _turn_ended)
        finally:
            await session.close()
        kinds = [type(e) for e in events]
        assert SpeechStarted in kinds, kinds
        assert kinds.index(SpeechStarted) < kinds.index(FinalTranscript)
        assert set(expected_words) <= normalized_words(_final_text(events))

    async def test_audio_at_another_sample_rate_is_resampled(
        self, stt: SpeechToText, utterance: AudioChunk, expected_words: list[str]
    ) -> None:
        session = await stt.open_session()
        try:
            await push_frames(session, resample(utterance, 8000))
            events = await collect_until(session.events(), _turn_ended)
        finally:
            await session.close()
        assert set(expected_words) <= normalized_words(_final_text(events))

    async def test_finalize_flushes_an_unfinished_utterance(
        self, stt: SpeechToText, utterance: AudioChunk, expected_words: list[str]
    ) -> None:
        speech_only = utterance.split(utterance.duration * 2 / 3)[0]
        session = await stt.open_session()
        try:
            await push_frames(session, speech_only)
            await session.finalize()
            events = await collect_until(
                session.events(), lambda seen: any(isinstance(e, FinalTranscript) for e in seen)
            )
        finally:
            await session.close()
        assert normalized_words(_final_text(events)) & set(expected_words)

    async def test_silence_yields_no_words_and_close_ends_the_stream(
        self, stt: SpeechToText
    ) -> None:
        session = await stt.open_session()
        await push_frames(session, AudioChunk.silence(1.5, 16000))
        await session.finalize()
        await session.close()
        events = await asyncio.wait_for(_drain(session.events()), 30)
        assert _final_text(events) == ""


async def _drain(events: object) -> list[SttEvent]:
    return [e async for e in events]  # type: ignore[attr-defined]
