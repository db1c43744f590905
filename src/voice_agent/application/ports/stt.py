"""Streaming speech to text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class SttCapabilities:
    """What an STT adapter works with, as data."""

    sample_rate: int = 16000
    """The rate the provider works at; `push_audio` accepts any rate and resamples."""


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The recognizer heard the caller start speaking."""


@dataclass(frozen=True, slots=True)
class InterimTranscript:
    """A guess at the words of the current utterance so far; later events replace it."""

    text: str
    at_pause: bool = False
    """The recognizer heard the caller pause after these words and has transcribed all of
    them: if the pause lasts, the final transcript says exactly this. The engine may start
    the reply on it (preemptive generation); an interim without the flag withdraws it (the
    caller went on). Only a recognizer that transcribes whole utterances at pauses sets it;
    a streaming one's interims are partial and never carry it."""


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    """Text of a span that will not change. `speech_final` means the recognizer also saw the
    caller pause (Deepgram's endpointing), a strong end-of-turn hint."""

    text: str
    speech_final: bool = False
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    """The recognizer decided the utterance is over (Deepgram's UtteranceEnd)."""


SttEvent = SpeechStarted | InterimTranscript | FinalTranscript | UtteranceEnded


class SpeechToTextSession(Protocol):
    """One recognition stream for one call. Audio (any sample rate: the adapter resamples
    with soxr if it must) goes in with `push_audio`; events come out of `events()` until
    `close()`. `finalize()` flushes pending words (the caller hung up)."""

    async def push_audio(self, chunk: AudioChunk) -> None: ...

    async def finalize(self) -> None: ...

    async def close(self) -> None: ...

    def events(self) -> AsyncIterator[SttEvent]: ...


class SpeechToText(Protocol):
    @property
    def capabilities(self) -> SttCapabilities: ...

    async def open_session(self) -> SpeechToTextSession:
        """Start a stream; raises `ProviderError` if it cannot."""
        ...
