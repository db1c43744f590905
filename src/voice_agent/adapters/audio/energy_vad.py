"""An energy-threshold voice activity detector: the cloud stack's VAD (telephone audio is
clean enough that a threshold with hysteresis does; the embedded stack uses Silero)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voice_agent.adapters.audio.signal import rms
from voice_agent.application.ports.vad import VadEvent, VoiceEnded, VoiceStarted
from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class EnergyVadSettings:
    threshold_rms: float = 500.0
    """Frames louder than this count as voice."""
    min_speech_s: float = 0.06
    """Voice must last this long before `VoiceStarted` (drops clicks)."""
    min_silence_s: float = 0.2
    """Silence must last this long before `VoiceEnded`."""


class EnergyVadSession:
    def __init__(self, settings: EnergyVadSettings) -> None:
        self._settings = settings
        self._speaking = False
        self._voiced_run = 0.0
        self._silent_run = 0.0
        self._speech_length = 0.0

    def push(self, chunk: AudioChunk) -> Sequence[VadEvent]:
        loud = rms(chunk) >= self._settings.threshold_rms
        duration = chunk.duration
        if loud:
            self._voiced_run += duration
            self._silent_run = 0.0
        else:
            self._silent_run += duration
            self._voiced_run = 0.0 if not self._speaking else self._voiced_run
        if not self._speaking:
            if loud and self._voiced_run >= self._settings.min_speech_s:
                self._speaking = True
                self._speech_length = self._voiced_run
                return [VoiceStarted(ago=self._voiced_run)]
            return []
        self._speech_length += duration
        if self._silent_run >= self._settings.min_silence_s:
            self._speaking = False
            self._voiced_run = 0.0
            return [
                VoiceEnded(
                    ago=self._silent_run,
                    speech_duration=self._speech_length - self._silent_run,
                )
            ]
        return []


class EnergyVoiceActivityDetector:
    def __init__(self, settings: EnergyVadSettings | None = None) -> None:
        self.settings = settings or EnergyVadSettings()

    def open_session(self, sample_rate: int) -> EnergyVadSession:
        return EnergyVadSession(self.settings)
