"""Voice activity detection on the caller's audio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class VoiceStarted:
    """Voice began `ago` seconds before the end of the audio pushed so far."""

    ago: float


@dataclass(frozen=True, slots=True)
class VoiceEnded:
    """Voice stopped `ago` seconds before the end of the audio pushed so far (the detector
    waits for some silence before saying so); `speech_duration` is how long it lasted."""

    ago: float
    speech_duration: float


VadEvent = VoiceStarted | VoiceEnded


class VadSession(Protocol):
    def push(self, chunk: AudioChunk) -> Sequence[VadEvent]:
        """Feed caller audio (any frame size); returns the transitions it caused. Must be
        cheap: it runs on every 20 ms frame of every call."""
        ...


class VoiceActivityDetector(Protocol):
    def open_session(self, sample_rate: int) -> VadSession: ...
