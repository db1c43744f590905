"""Streaming text to speech."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from voice_agent.domain.audio import AudioChunk


class SpanDetail(Enum):
    """Which `SynthesizedSpan`s a synthesizer emits; the heard text of a cut-off reply is
    only as precise as its spans."""

    NONE = "none"
    """No spans: the text is spread evenly over the reply's audio."""
    PHRASE = "phrase"
    """One span per text piece it was given."""
    WORD = "word"
    """One span per word (provider word timestamps)."""


@dataclass(frozen=True, slots=True)
class TtsCapabilities:
    spans: SpanDetail = SpanDetail.NONE


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
