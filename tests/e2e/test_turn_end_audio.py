"""A detector that judges the end of turn from audio hears the caller's last seconds of
speech in a real call, not None (the engine keeps the caller's recent audio for it)."""

from __future__ import annotations

import pytest

from voice_agent.application.ports.turn_end import TurnEndVerdict
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn import Role
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import Scenario

pytestmark = pytest.mark.looptime


class ListeningDetector:
    """Says "finished" and remembers what it was given."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, AudioChunk | None]] = []

    @property
    def needs_audio(self) -> bool:
        return True

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
