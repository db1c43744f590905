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
    trailing_silence_s = 0.3

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.asked = 0

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        assert audio is not None
        self.asked += 1
        return TurnEndVerdict(self.probability > 0.5, self.probability, "model")


@pytest.mark.parametrize("probability", [0.0, 0.01, 0.5])
async def test_a_sentence_the_recognizer_closed_is_finished_without_asking_the_model(
    probability: float,
) -> None:
    model = ScriptedModel(probability)
    verdict = await CombinedTurnEndDetector(model).assess("Who am I talking to?", VOICE)
    assert (verdict.finished, verdict.detector) == (True, "combined")
    assert model.asked == 0


@pytest.mark.parametrize(
    ("probability", "finished"), [(0.9, True), (0.07, True), (0.04, False), (0.0, False)]
)
async def test_without_closing_punctuation_the_voice_decides(
    probability: float, finished: bool
) -> None:
    model = ScriptedModel(probability)
    verdict = await CombinedTurnEndDetector(model).assess("who am I talking to", VOICE)
    assert (verdict.finished, verdict.detector) == (finished, "combined")
    assert verdict.confidence == probability
    assert model.asked == 1


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
