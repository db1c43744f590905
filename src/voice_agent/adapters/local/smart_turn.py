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
TRAILING_SILENCE_S = 0.3
"""The pause it is asked to judge. The combined detector's threshold and every figure in
docs/performance.md were measured on turns ending in 0.3 s of silence; with 0.25 s the
model misses more (held-out cut-offs 7.5 -> 10 %), so the engine waits for 0.3 s of it."""


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

    One inference worker shared by every call; about 45 ms per decision on two quiet cores.
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
        cls,
        model: Path | None = None,
        *,
        threads: int = 2,
        float_softmax: bool = True,
    ) -> SmartTurnDetector:
        """Load the model once (about 0.1 s); share the instance between calls.

        The decision is on the path to the agent's answer, so it runs on both cores (two
        intra-op threads: about 0.75 of one thread's time on a busy machine, see
        docs/performance.md), with threads that sleep instead of spinning when idle: the
        cores are shared with Whisper, llama.cpp and Piper (see `PiperTextToSpeech.load`;
        spinning only while a decision runs, `session.force_spinning_stop`, measured slower
        on the turn set: decision p95 66 against 40-46 ms). Graph optimization is
        onnxruntime's default, the highest level. The process should run numpy's BLAS on
        one thread (`entrypoints.bootstrap.blas`), or the features' matrix product leaves
        OpenBLAS threads spinning through the decision.

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

    @property
    def trailing_silence_s(self) -> float:
        return TRAILING_SILENCE_S

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        if audio is None:
            raise InvalidAudio("the Smart Turn detector needs the caller's audio, got none")
        speech = self._samples(audio)
        probability = await self._worker.run(lambda: self._probability(speech))
        return TurnEndVerdict(probability > self._threshold, probability, self.name)

    def probability_blocking(self, audio: AudioChunk) -> float:
        """The probability that the turn is complete, in the caller's thread (benches)."""
        return self._probability(self._samples(audio))

    def _samples(self, audio: AudioChunk) -> npt.NDArray[np.float32]:
        """The last 8 s at 16 kHz as floats in [-1, 1] (audio at another rate is resampled:
        telephony gives 8 kHz); too little is refused."""
        if audio.duration < MIN_SPEECH_S:
            raise InvalidAudio(
                f"the Smart Turn detector needs at least {MIN_SPEECH_S} s of speech, "
                f"got {audio.duration:.3f} s"
            )
        pcm = to_int16(resample(audio, SAMPLE_RATE))[-WINDOW_S * SAMPLE_RATE :]
        return pcm.astype(np.float32) / 32768.0

    def _probability(self, speech: npt.NDArray[np.float32]) -> float:
        features = window_features(self._features, speech)[np.newaxis]
        (output,) = self._session.run(None, {self._input_name: features})
        return float(np.asarray(output).reshape(-1)[0])


def padded_window(speech: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The model's input audio: the last 8 s, zero-padded at the start, then scaled to zero
    mean and unit variance over the whole window, as the model was trained (the Whisper
    extractor's `do_normalize`)."""
    window = np.zeros(WINDOW_S * SAMPLE_RATE, dtype=np.float32)
    speech = speech[-window.size :]
    window[window.size - speech.size :] = speech
    normalized: npt.NDArray[np.float32] = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
    return normalized


def window_features(
    extractor: FeatureExtractor, speech: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The log-mel features (80 x 800) of `padded_window(speech)`, computed on its end only.

    A short turn is mostly padding, which normalization turns into one constant value: every
    frame whose 25 ms lies wholly inside it has the same spectrum. So the extractor runs on
    the window from a frame boundary just inside the padding (its reflect padding there
    reflects that constant, as it would in the whole window), and the frames before are
    copies of the first one. The result is the whole window's, to float rounding (the clamp
    to the loudest frame minus 80 dB sees the same loudest frame), for a fifth of the work
    on a 2 s turn (2-3 ms instead of about 10 ms here)."""
    window = padded_window(speech)
    hop, half_frame = extractor.hop_length, extractor.n_fft // 2
    frames = window.size // hop
    padding = window.size - min(speech.size, window.size)
    first = max(0, (padding - half_frame) // hop - 1)  # frames before it are all padding
    if first < 2:
        return _features_of(extractor, window, frames)
    tail = _features_of(extractor, window[first * hop :], frames - first)
    copies = np.repeat(tail[:, :1], first, axis=1)
    return np.concatenate((copies, tail), axis=1)


def _features_of(
    extractor: FeatureExtractor, audio: npt.NDArray[np.float32], frames: int
) -> npt.NDArray[np.float32]:
    features = extractor(audio, padding=0)[:, :frames]
    return np.ascontiguousarray(features, dtype=np.float32)
