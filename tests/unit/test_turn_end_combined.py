"""The combined end-of-turn detector: which evidence wins, the words or the voice."""

from __future__ import annotations

import pytest

from voice_agent.adapters.turn_end.combined import CombinedTurnEndDetector
from voice_agent.application.ports.turn_end import TurnEndVerdict
from voice_agent.domain.audio import AudioChunk

VOICE = AudioChunk.silence(1.0, 16000)


class ScriptedModel:
    """Answers a fixed probability of "complete" and counts the questions."""

    needs_audio = True

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.asked = 0

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        assert audio is not None
        self.asked += 1
        return TurnEndVerdict(self.probability > 0.5, self.probability, "model")


@pytest.mark.parametrize(
    ("text", "probability", "finished"),
    [
        # A sentence closed by the recognizer stands unless the voice clearly goes on.
        ("Who am I talking to?", 0.3, True),
        ("Who am I talking to?", 0.01, False),
        # Without closing punctuation the voice decides.
        ("who am I talking to", 0.7, True),
        ("who am I talking to", 0.05, False),
    ],
)
async def test_punctuation_stands_unless_the_voice_is_sure_else_the_voice_decides(
    text: str, probability: float, finished: bool
) -> None:
    detector = CombinedTurnEndDetector(ScriptedModel(probability))
    verdict = await detector.assess(text, VOICE)
    assert (verdict.finished, verdict.detector) == (finished, "combined")
    assert verdict.confidence == probability


@pytest.mark.parametrize("text", ["My email is anna dot", "I need a cleaning, a filling and"])
async def test_words_that_read_unfinished_are_unfinished_without_asking_the_model(
    text: str,
) -> None:
    model = ScriptedModel(0.99)
    verdict = await CombinedTurnEndDetector(model).assess(text, VOICE)
    assert not verdict.finished
    assert model.asked == 0


async def test_without_the_callers_audio_the_text_rules_decide() -> None:
    model = ScriptedModel(0.0)
    detector = CombinedTurnEndDetector(model)
    assert (await detector.assess("who am I talking to", None)).finished
    assert not (await detector.assess("I'd like to book for", None)).finished
    assert model.asked == 0
