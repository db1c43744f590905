"""Canned lines rendered once and replayed: the apology must play even when the speech
synthesizer itself is what failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from voice_agent.application.ports.tts import SynthesizedAudio, TextToSpeech
from voice_agent.domain.audio import AudioChunk


async def _one(text: str) -> AsyncIterator[str]:
    yield text


class CannedSpeech:
    """Caches synthesized audio per (text, sample rate). Share one instance between calls."""

    def __init__(self, tts: TextToSpeech) -> None:
        self._tts = tts
        self._audio: dict[tuple[str, int], list[AudioChunk]] = {}
        self._lock = asyncio.Lock()

    def cached(self, text: str, sample_rate: int) -> list[AudioChunk] | None:
        return self._audio.get((text, sample_rate))

    async def prepare(self, text: str, sample_rate: int) -> list[AudioChunk] | None:
        """Render `text` unless it already is; returns None if synthesis fails."""
        async with self._lock:
            key = (text, sample_rate)
            if key not in self._audio:
                try:
                    self._audio[key] = [
                        event.chunk
                        async for event in self._tts.synthesize(_one(text), sample_rate=sample_rate)
                        if isinstance(event, SynthesizedAudio)
                    ]
                except Exception:
                    return None
            return self._audio[key]
