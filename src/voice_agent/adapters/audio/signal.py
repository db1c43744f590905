"""Signal measures and conversions on `AudioChunk`, vectorised with numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

from voice_agent.domain.audio import AudioChunk


def to_int16(chunk: AudioChunk) -> npt.NDArray[np.int16]:
    return np.frombuffer(chunk.pcm, dtype="<i2")


def rms(chunk: AudioChunk) -> float:
    """Root mean square amplitude on the int16 scale (0 for digital silence)."""
    if not chunk.pcm:
        return 0.0
    samples = to_int16(chunk).astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples)))


def trim_silence(chunk: AudioChunk, threshold: int = 500) -> AudioChunk:
    """`chunk` without the quiet samples (below `threshold`) before and after the sound."""
    samples = to_int16(chunk)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return AudioChunk(b"", chunk.sample_rate)
    return AudioChunk(samples[loud[0] : loud[-1] + 1].tobytes(), chunk.sample_rate)


def resample(chunk: AudioChunk, target_rate: int) -> AudioChunk:
    """One-shot resampling with soxr (use `StreamResampler` for a continuous stream)."""
    if chunk.sample_rate == target_rate:
        return chunk
    out = soxr.resample(to_int16(chunk), chunk.sample_rate, target_rate)
    return AudioChunk(np.asarray(out, dtype="<i2").tobytes(), target_rate)


class StreamResampler:
    """Resamples a continuous stream chunk by chunk without clicks at chunk edges
    (soxr keeps the filter state between calls)."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self.source_rate = source_rate
        self.target_rate = target_rate
        self._stream = (
            None
            if source_rate == target_rate
            else soxr.ResampleStream(source_rate, target_rate, 1, dtype="int16")
        )

    def push(self, chunk: AudioChunk, *, last: bool = False) -> AudioChunk:
        if chunk.sample_rate != self.source_rate:
            raise ValueError(
                f"stream resampler expects {self.source_rate} Hz, got {chunk.sample_rate} Hz"
            )
        if self._stream is None:
            return chunk
        out = self._stream.resample_chunk(to_int16(chunk), last=last)
        return AudioChunk(np.asarray(out, dtype="<i2").tobytes(), self.target_rate)


def tone(
    seconds: float, sample_rate: int, *, frequency: float = 220.0, amplitude: int = 6000
) -> AudioChunk:
    """A sine tone: the stand-in for speech in fakes (any non-silent audio would do)."""
    t = np.arange(round(seconds * sample_rate), dtype=np.float32) / sample_rate
    wave = (amplitude * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    return AudioChunk(wave.tobytes(), sample_rate)
