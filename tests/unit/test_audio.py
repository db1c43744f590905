import pytest

from voice_agent.adapters.audio.signal import resample, rms, tone
from voice_agent.domain.audio import AudioChunk, InvalidAudio


def test_odd_byte_counts_are_rejected_with_a_precise_message() -> None:
    with pytest.raises(InvalidAudio, match="even number of bytes, got 3"):
        AudioChunk(b"\x00\x01\x02", 16000)


def test_a_non_positive_rate_is_rejected() -> None:
    with pytest.raises(InvalidAudio, match="sample rate must be positive"):
        AudioChunk(b"", 0)


def test_joining_audio_at_different_rates_is_refused() -> None:
    with pytest.raises(InvalidAudio, match="16000 Hz and 8000 Hz"):
        AudioChunk.silence(0.1, 16000) + AudioChunk.silence(0.1, 8000)


def test_split_and_duration() -> None:
    audio = AudioChunk.silence(1.0, 16000)
    frames = audio.split(0.02)
    assert len(frames) == 50
    assert all(f.duration == pytest.approx(0.02) for f in frames)


def test_resampling_keeps_duration_and_loudness() -> None:
    audio = tone(1.0, 16000)
    down = resample(audio, 8000)
    assert down.sample_rate == 8000
    assert down.duration == pytest.approx(1.0, abs=0.01)
    assert rms(down) == pytest.approx(rms(audio), rel=0.05)
