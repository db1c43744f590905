"""Canned lines rendered once and replayed: the apology must play even when the speech
synthesizer itself is what failed; a line rendered before the call (the worker renders the
greeting at start-up) plays from here instead of being synthesized again, so the greeting
starts the moment a call is answered instead of after its synthesis (about 1 s with Piper)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from voice_agent.application.ports.tts import SynthesizedAudio, SynthesizedSpan, TextToSpeech
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.heard_text import SpokenSpan


async def _one(text: str) -> AsyncIterator[str]:
    yield text


@dataclass(frozen=True, slots=True)
class Recording:
    """A canned line's audio and the synthesizer's timing of its words (for heard text)."""

    text: str
    chunks: list[AudioChunk]
    spans: list[SpokenSpan]

    @property
    def duration(self) -> float:
        return sum(chunk.duration for chunk in self.chunks)


class CannedSpeech:
    """Caches synthesized audio per (text, sample rate). Share one instance between calls."""

    def __init__(self, tts: TextToSpeech) -> None:
        self._tts = tts
        self._recordings: dict[tuple[str, int], Recording] = {}
        self._lock = asyncio.Lock()

    def recording(self, text: str, sample_rate: int) -> Recording | None:
        return self._recordings.get((text, sample_rate))

    async def prepare(self, text: str, sample_rate: int) -> list[AudioChunk] | None:
        """Render `text` unless it already is; returns None if synthesis fails."""
        async with self._lock:
            key = (text, sample_rate)
            if key not in self._recordings:
                try:
                    self._recordings[key] = await self._render(text, sample_rate)
                except Exception:
                    return None
            return self._recordings[key].chunks

    async def _render(self, text: str, sample_rate: int) -> Recording:
        chunks: list[AudioChunk] = []
        spans: list[SpokenSpan] = []
        async for event in self._tts.synthesize(_one(text), sample_rate=sample_rate):
            if isinstance(event, SynthesizedAudio):
                chunks.append(event.chunk)
            elif isinstance(event, SynthesizedSpan):
                spans.append(SpokenSpan(event.text, event.start, event.end))
        return Recording(text, chunks, spans)
