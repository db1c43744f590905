"""A detector that judges the end of turn from audio hears the caller's last seconds of
speech in a real call, not None (the engine keeps the caller's recent audio for it)."""

from __future__ import annotations

import numpy as np
import pytest

from voice_agent.application.ports.turn_end import TurnEndVerdict
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn import Role
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import Scenario

pytestmark = pytest.mark.looptime


class ListeningDetector:
    """Says "finished" and remembers what it was given."""

    def __init__(self, trailing_silence_s: float = 0.0) -> None:
        self.heard: list[tuple[str, AudioChunk | None]] = []
        self._trailing_silence_s = trailing_silence_s

    @property
    def needs_audio(self) -> bool:
        return True

    @property
    def trailing_silence_s(self) -> float:
        return self._trailing_silence_s

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        self.heard.append((text, audio))
        return TurnEndVerdict(finished=True, confidence=0.9, detector="listening")


async def test_an_audio_detector_hears_the_callers_speech() -> None:
    scenario = Scenario.model_validate(
        {
            "caller": [{"say": "Are you open on Saturday?", "duration": 1.6}, {"hang_up": True}],
            "agent": [{"reply": "Yes, from nine to one."}],
        }
    )
    detector = ListeningDetector()
    call = await build_scripted_call(scenario, turn_end=detector).run()
    assert [t.text for t in call.turns if t.role is Role.CALLER] == ["Are you open on Saturday?"]
    assert detector.heard, "the detector was never asked"
    text, audio = detector.heard[-1]
    assert text == "Are you open on Saturday?"
    assert audio is not None
    seconds = len(audio.pcm) / 2 / audio.sample_rate
    assert 1.6 <= seconds <= 8.1  # the whole question, at most the last 8 s


async def test_an_audio_detector_is_asked_once_the_pause_is_as_long_as_it_was_tuned_on() -> None:
    """The voice detector reports the end after 0.2 s of silence here and the transcript
    follows; a detector tuned on 0.6 s pauses still hears 0.6 s of silence after the voice,
    and the caller is answered."""
    scenario = Scenario.model_validate(
        {
            "caller": [{"say": "Are you open on Saturday?", "duration": 1.6}, {"hang_up": True}],
            "agent": [{"reply": "Yes, from nine to one."}],
        }
    )
    detector = ListeningDetector(trailing_silence_s=0.6)
    call = await build_scripted_call(scenario, turn_end=detector).run()
    assert [t.role for t in call.turns] == [Role.AGENT, Role.CALLER, Role.AGENT]
    _, audio = detector.heard[-1]
    assert audio is not None
    samples = np.frombuffer(audio.pcm, dtype="<i2")
    last_voiced = int(np.flatnonzero(samples)[-1])
    assert (samples.size - 1 - last_voiced) / audio.sample_rate >= 0.6  # 0.22 s unasked
