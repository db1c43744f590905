"""`bench.local_stack.reply_pauses_ms`: the longest pause inside each reply of the agent's track."""

from __future__ import annotations

import numpy as np
from bench.local_stack import reply_pauses_ms

from voice_agent.domain.audio import AudioChunk

RATE = 16000


def _tone(seconds: float) -> AudioChunk:
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = (3000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    return AudioChunk(pcm, RATE)


def test_each_reply_reports_its_longest_inner_pause() -> None:
    quiet = AudioChunk.silence
    track = (
        _tone(0.6)
        + quiet(0.3, RATE)
        + _tone(0.5)
        + quiet(0.5, RATE)
        + _tone(0.4)  # reply 1
        + quiet(3.0, RATE)  # the caller speaks
        + _tone(1.0)  # reply 2: no pause
        + quiet(2.0, RATE)
        + _tone(0.5)
        + quiet(1.2, RATE)
        + _tone(0.5)  # reply 3: a long pause mid-reply
    )
    pauses = reply_pauses_ms(track)
    assert len(pauses) == 3
    assert 480 <= pauses[0] <= 520
    assert pauses[1] == 0.0
    assert 1180 <= pauses[2] <= 1220


def test_a_silent_track_has_no_replies() -> None:
    assert reply_pauses_ms(AudioChunk.silence(2.0, RATE)) == []
