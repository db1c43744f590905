"""`voice-agent call CALLER.wav` on the local stack: a Piper-voiced caller with known
sentences talks to the real models in real time."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.contract.local_models import spoken
from voice_agent.adapters.audio.wav import read_wav, write_wav
from voice_agent.domain.audio import AudioChunk

pytestmark = pytest.mark.slow

VOICE_AGENT = Path(sys.executable).parent / "voice-agent"
QUESTIONS = ["Hello, are you open on Saturday?", "How much does a check-up cost?"]


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VOICE_AGENT, "call", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_a_recorded_caller_is_heard_and_answered_turn_by_turn(tmp_path: Path) -> None:
    pause = AudioChunk.silence(1.2, 16000)
    caller = pause + spoken(QUESTIONS[0]) + pause + spoken(QUESTIONS[1]) + pause
    write_wav(tmp_path / "caller.wav", caller)

    done = run_cli("caller.wav", "--stack", "local", "--json", "--out", "agent.wav", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "loaded SmolLM2-135M" in done.stderr, "model loading must show progress"
    result = json.loads(done.stdout)
    turns = result["turns"]
    assert [t["role"] for t in turns] == ["agent", "caller", "agent", "caller", "agent"]
    assert "saturday" in turns[1]["text"].lower()
    assert "check" in turns[3]["text"].lower()
    for answer in (turns[2], turns[4]):
        assert answer["text"].strip()
        assert answer["latency_ms"]["e2e"] is not None
    assert result["call"]["end_reason"] == "caller_hung_up"

    agent = read_wav(tmp_path / "agent.wav", 16000)
    samples = np.frombuffer(agent.pcm, dtype="<i2")
    assert agent.duration > 3.0
    assert np.abs(samples).max() > 1000, "the agent's side must hold its speech"


def test_a_file_that_is_not_16_bit_pcm_is_refused_with_the_reason(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "eight.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(8000))
    done = run_cli("eight.wav", cwd=tmp_path)
    assert done.returncode == 2
    assert "8-bit; give 16-bit PCM" in done.stderr
    assert "loading" not in done.stderr, "a bad file is refused before any model loads"


def test_a_silent_file_is_refused(tmp_path: Path) -> None:
    write_wav(tmp_path / "silent.wav", AudioChunk.silence(2.0, 16000))
    done = run_cli("silent.wav", cwd=tmp_path)
    assert done.returncode == 2
    assert "no speech found" in done.stderr
