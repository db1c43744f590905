"""WAV files in and out, and cutting a recording into utterances at its pauses."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_agent.adapters.audio.signal import resample, to_int16
from voice_agent.domain.audio import AudioChunk


class BadWavFile(ValueError):
    """The file is not a WAV this tool can play (the message says why)."""


def read_wav(path: Path, rate: int) -> AudioChunk:
    """A 16-bit PCM WAV (mono, or stereo mixed down) resampled to `rate`."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, source_rate = (
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getframerate(),
            )
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise BadWavFile(f"{path}: not a readable WAV file ({error})") from None
    if width != 2:
        raise BadWavFile(f"{path}: samples are {8 * width}-bit; give 16-bit PCM")
    if channels not in (1, 2):
        raise BadWavFile(f"{path}: {channels} channels; give mono or stereo")
    samples = np.frombuffer(frames, dtype="<i2")
    if channels == 2:
        samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
    if samples.size == 0:
        raise BadWavFile(f"{path}: the file holds no audio")
    return resample(AudioChunk(samples.astype("<i2").tobytes(), source_rate), rate)


def write_wav(path: Path, audio: AudioChunk) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(audio.sample_rate)
        wav.writeframes(audio.pcm)


@dataclass(frozen=True, slots=True)
class PauseRule:
    """A pause of `min_gap_s` or more, quieter than `silence_ratio` of the loudest 20 ms,
    separates two utterances; voiced stretches shorter than `min_voice_s` are noise."""

    min_gap_s: float = 0.7
    silence_ratio: float = 0.1
    min_voice_s: float = 0.15
    frame_s: float = 0.02


def split_utterances(audio: AudioChunk, rule: PauseRule | None = None) -> list[AudioChunk]:
    """The utterances in a recording, each trimmed of the silence around it."""
    rule = rule or PauseRule()
    samples = to_int16(audio).astype(np.float32)
    frame = max(1, int(rule.frame_s * audio.sample_rate))
    count = len(samples) // frame
    if count == 0:
        return []
    energy = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))
    voiced = energy > max(energy.max() * rule.silence_ratio, 100.0)
    spans: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    gap_frames = int(rule.min_gap_s / rule.frame_s)
    for i, is_voiced in enumerate(voiced):
        if is_voiced:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= gap_frames:
                spans.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        spans.append((start, count - quiet))
    min_frames = int(rule.min_voice_s / rule.frame_s)
    return [
        AudioChunk(samples[a * frame : b * frame].astype("<i2").tobytes(), audio.sample_rate)
        for a, b in spans
        if b - a >= min_frames
    ]
