"""`SmartTurnDetector`: Pipecat's Smart Turn v3.2 audio end-of-turn model (BSD-2, 8.7 MB ONNX).

The ONNX file ships inside the `pipecat-ai==1.14.0` wheel, which `make setup` installs
without its dependencies; the file is loaded by path and pipecat itself is never imported.
The model reads Whisper log-mel features (computed with faster-whisper's own extractor) of
the caller's last 8 s of 16 kHz speech and answers the probability that the turn is
complete. It hears intonation and pace, not words: it is meant to be combined with the text.
"""

from __future__ import annotations

import logging
import sysconfig
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime
from faster_whisper.feature_extractor import FeatureExtractor

from voice_agent.adapters.audio.signal import resample, to_int16
from voice_agent.adapters.local.onnx_graph import with_float_softmax
from voice_agent.adapters.local.worker import ModelWorker
from voice_agent.application.ports.turn_end import TurnEndVerdict
from voice_agent.domain.audio import AudioChunk, InvalidAudio

log = logging.getLogger(__name__)

MODEL_RELATIVE_PATH = Path("pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx")
SAMPLE_RATE = 16000
WINDOW_S = 8
"""The model hears the last 8 s of the turn; shorter audio is zero-padded at the start."""
MIN_SPEECH_S = 0.1
"""Below this there is nothing to judge (a click, a breath): the detector refuses."""


def smart_turn_path() -> Path:
    """The ONNX file inside the installed `pipecat-ai` wheel (`make setup` installs it)."""
    for scheme_path in ("purelib", "platlib"):
        candidate = Path(sysconfig.get_paths()[scheme_path]) / MODEL_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{MODEL_RELATIVE_PATH.name} not found: install the model with "
        "`pip install --no-deps pipecat-ai==1.14.0` (make setup does)"
    )


class SmartTurnDetector:
    """Judges from the caller's voice alone; `text` is ignored (see the combined detector).

    One inference worker shared by every call; about 45 ms per decision on one quiet core.
    """

    name = "model"

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        worker: ModelWorker | None = None,
        *,
        threshold: float = 0.5,
    ) -> None:
        self._session = session
        self._worker = worker or ModelWorker("smart-turn")
        self._threshold = threshold
        self._features = FeatureExtractor(
            feature_size=80, sampling_rate=SAMPLE_RATE, chunk_length=WINDOW_S
        )
        model_input = session.get_inputs()[0]
        self._input_name: str = model_input.name
        self._frames = WINDOW_S * SAMPLE_RATE // self._features.hop_length
        expected = [80, self._frames]
        if list(model_input.shape[1:]) != expected:
            raise ValueError(
                f"Smart Turn model expects input {model_input.shape}, not (batch, 80, 800): "
                "a different model file?"
            )

    @classmethod
    def load(
        cls, model: Path | None = None, *, threads: int = 2, float_softmax: bool = True
    ) -> SmartTurnDetector:
        """Load the model once (about 0.1 s); share the instance between calls.

        The decision is on the path to the agent's answer, so it runs on both cores (two
        intra-op threads: about 0.75 of one thread's time on a busy machine, see
        docs/performance.md), with threads that sleep instead of spinning when idle: the
        cores are shared with Whisper, llama.cpp and Piper (see `PiperTextToSpeech.load`).
        Graph optimization is onnxruntime's default, the highest level.

        `float_softmax` loads the graph edited by `with_float_softmax` (the default: a
        decision about a fifth faster for the same verdicts; `False` runs the file as shipped).
        """
        started = time.perf_counter()
        path = model or smart_turn_path()
        graph: str | bytes = str(path)
        if float_softmax:
            graph = with_float_softmax(onnx.load(str(path))).SerializeToString()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            graph,
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        log.debug("smart turn model loaded in %.2f s", time.perf_counter() - started)
        return cls(session)

    @property
    def worker(self) -> ModelWorker:
        """The model's inference thread (its status feeds `/health`)."""
        return self._worker

    @property
    def needs_audio(self) -> bool:
        return True

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        if audio is None:
            raise InvalidAudio("the Smart Turn detector needs the caller's audio, got none")
        samples = self._samples(audio)
        probability = await self._worker.run(lambda: self._probability(samples))
        return TurnEndVerdict(probability > self._threshold, probability, self.name)

    def probability_blocking(self, audio: AudioChunk) -> float:
        """The probability that the turn is complete, in the caller's thread (benches)."""
        return self._probability(self._samples(audio))

    def _samples(self, audio: AudioChunk) -> npt.NDArray[np.float32]:
        """The last 8 s at 16 kHz as floats in [-1, 1], zero-padded at the start.

        Audio at another rate is resampled (telephony gives 8 kHz); too little is refused."""
        if audio.duration < MIN_SPEECH_S:
            raise InvalidAudio(
                f"the Smart Turn detector needs at least {MIN_SPEECH_S} s of speech, "
                f"got {audio.duration:.3f} s"
            )
        pcm = to_int16(resample(audio, SAMPLE_RATE))[-WINDOW_S * SAMPLE_RATE :]
        window = np.zeros(WINDOW_S * SAMPLE_RATE, dtype=np.float32)
        window[window.size - pcm.size :] = pcm.astype(np.float32) / 32768.0
        return window

    def _probability(self, window: npt.NDArray[np.float32]) -> float:
        # The model was trained on zero-mean, unit-variance audio (the Whisper extractor's
        # `do_normalize`), over the padded window.
        normalized = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        mel = self._features(normalized, padding=0)[:, : self._frames]
        features = mel[np.newaxis].astype(np.float32)
        (output,) = self._session.run(None, {self._input_name: features})
        return float(np.asarray(output).reshape(-1)[0])
