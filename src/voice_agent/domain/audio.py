"""The one audio value type that crosses every port: PCM16 mono bytes and their sample rate."""

from __future__ import annotations

from dataclasses import dataclass

BYTES_PER_SAMPLE = 2
AUDIBLE_PEAK = 32
"""Peak sample magnitude (about -60 dBFS) below which a chunk counts as silent."""


class InvalidAudio(ValueError):
    """Raised for audio that is not well-formed PCM16 mono."""


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Little-endian signed 16-bit mono PCM at `sample_rate` Hz.

    Resampling never happens here: adapters convert at the edges (with soxr) so that the
    engine only ever sees the rate it asked for.
    """

    pcm: bytes
    sample_rate: int

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise InvalidAudio(f"sample rate must be positive, got {self.sample_rate}")
        if len(self.pcm) % BYTES_PER_SAMPLE:
            raise InvalidAudio(f"PCM16 audio needs an even number of bytes, got {len(self.pcm)}")

    @classmethod
    def silence(cls, seconds: float, sample_rate: int) -> AudioChunk:
        return cls(bytes(samples_for(seconds, sample_rate) * BYTES_PER_SAMPLE), sample_rate)

    def is_audible(self, threshold: int = AUDIBLE_PEAK) -> bool:
        """Whether any sample's magnitude exceeds `threshold` (digital silence and the
        faint noise floor some synthesizers pad with do not)."""
        samples = memoryview(self.pcm).cast("h")
        return any(sample > threshold or sample < -threshold for sample in samples)

    @property
    def sample_count(self) -> int:
        return len(self.pcm) // BYTES_PER_SAMPLE

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.sample_count / self.sample_rate

    def split(self, seconds: float) -> list[AudioChunk]:
        """Cut into consecutive chunks of `seconds` (the last one may be shorter)."""
        step = samples_for(seconds, self.sample_rate) * BYTES_PER_SAMPLE
        if step <= 0:
            raise InvalidAudio(f"cannot split into chunks of {seconds} s")
        return [
            AudioChunk(self.pcm[i : i + step], self.sample_rate)
            for i in range(0, len(self.pcm), step)
        ]

    def __add__(self, other: AudioChunk) -> AudioChunk:
        if other.sample_rate != self.sample_rate:
            raise InvalidAudio(
                f"cannot join audio at {self.sample_rate} Hz and {other.sample_rate} Hz"
            )
        return AudioChunk(self.pcm + other.pcm, self.sample_rate)


def samples_for(seconds: float, sample_rate: int) -> int:
    return round(seconds * sample_rate)
