"""Streaming text to speech."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class TtsCapabilities:
    streaming_input: bool = True
    """Accepts text piece by piece within one reply (one provider context per reply)."""
    word_timings: bool = False
    """Emits a `SynthesizedSpan` per word; otherwise spans are whole pieces of text, or none."""


@dataclass(frozen=True, slots=True)
class SynthesizedAudio:
    chunk: AudioChunk


@dataclass(frozen=True, slots=True)
class SynthesizedSpan:
    """`text` occupies [start, end) seconds of this reply's audio (from its first sample)."""

    text: str
    start: float
    end: float


TtsEvent = SynthesizedAudio | SynthesizedSpan


class TextToSpeech(Protocol):
    @property
    def capabilities(self) -> TtsCapabilities: ...

    def synthesize(self, text: AsyncIterable[str], *, sample_rate: int) -> AsyncIterator[TtsEvent]:
        """Speak one reply. Text pieces (phrases) arrive on `text` while audio is already
        coming out; audio is at `sample_rate`. Cancel by closing the iterator (or
        cancelling the task reading it): the adapter cancels the provider context. Failures
        raise `ProviderError`."""
        ...
