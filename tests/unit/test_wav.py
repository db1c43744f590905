from pathlib import Path

import pytest

from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.audio.wav import BadWavFile, read_wav, split_utterances, write_wav
from voice_agent.domain.audio import AudioChunk

RATE = 16000


def test_utterances_are_cut_at_long_pauses_only() -> None:
    short_pause, long_pause = AudioChunk.silence(0.3, RATE), AudioChunk.silence(1.0, RATE)
    word = tone(0.5, RATE, amplitude=8000)
    audio = long_pause + word + short_pause + word + long_pause + word + long_pause
    parts = split_utterances(audio)
    assert [round(p.duration, 2) for p in parts] == [1.3, 0.5]


def test_clicks_are_not_utterances() -> None:
    audio = AudioChunk.silence(1.0, RATE) + tone(0.04, RATE, amplitude=8000)
    assert split_utterances(audio + AudioChunk.silence(1.0, RATE)) == []


def test_wav_round_trip_resamples(tmp_path: Path) -> None:
    original = tone(1.0, 22050, amplitude=5000)
    write_wav(tmp_path / "a.wav", original)
    loaded = read_wav(tmp_path / "a.wav", RATE)
    assert loaded.sample_rate == RATE
    assert loaded.duration == pytest.approx(1.0, abs=0.01)


def test_garbage_is_refused_with_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"not a wav at all")
    with pytest.raises(BadWavFile, match=r"x\.wav: not a readable WAV file"):
        read_wav(tmp_path / "x.wav", RATE)
