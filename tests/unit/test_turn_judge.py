"""How a call asks its end-of-turn detector: verdicts come back as inputs, a failing
detector is replaced by the text rules, a stale verdict is ignored."""

from __future__ import annotations

import asyncio
import logging

import pytest

from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.application.ports.turn_end import TurnEndVerdict
from voice_agent.application.session.inputs import Input, TurnJudged
from voice_agent.application.session.turn_judge import TurnJudge
from voice_agent.domain.audio import AudioChunk


class BrokenDetector:
    needs_audio = False
    trailing_silence_s = 0.0

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        raise RuntimeError("model file missing")


class AlwaysUnfinished:
    needs_audio = False
    trailing_silence_s = 0.0

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        return TurnEndVerdict(False, 0.0, "stub")


async def next_verdict(inputs: asyncio.Queue[Input]) -> TurnJudged:
    item = await inputs.get()
    assert isinstance(item, TurnJudged)
    return item


async def test_the_detector_s_verdict_arrives_as_an_input_and_is_kept() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    judge = TurnJudge(AlwaysUnfinished(), inputs)
    assert judge.finished("Sorry, could you repeat that?") is None
    judged = await next_verdict(inputs)
    assert judged == TurnJudged("Sorry, could you repeat that?", False)
    assert judge.record(judged)
    assert judge.finished("Sorry, could you repeat that?") is False


async def test_a_failing_detector_falls_back_to_the_text_rules_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    judge = TurnJudge(BrokenDetector(), inputs)
    with caplog.at_level(logging.ERROR):
        judge.finished("Who am I talking to?")
        first = await next_verdict(inputs)
        judge.record(first)
        judge.finished("My email is anna dot")
        second = await next_verdict(inputs)
    assert first == TurnJudged("Who am I talking to?", True)
    assert second == TurnJudged("My email is anna dot", False)
    assert len([r for r in caplog.records if "detector failed" in r.message]) == 1


async def test_a_verdict_on_older_words_is_ignored() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    judge = TurnJudge(TextTurnEndDetector(), inputs)
    judge.finished("My number is")
    judge.finished("My number is 555 0142.")
    assert not judge.record(TurnJudged("My number is", False))
    assert judge.record(await next_verdict(inputs))
    assert judge.finished("My number is 555 0142.") is True


async def test_without_a_detector_the_text_rules_answer_at_once() -> None:
    judge = TurnJudge(None, asyncio.Queue())
    assert judge.finished("Where are you calling from?") is True
    assert judge.finished("We'll be there at around") is False


class HearsAudio:
    """Finished when it hears audio; remembers what it heard."""

    needs_audio = True
    trailing_silence_s = 0.0

    def __init__(self) -> None:
        self.heard: list[AudioChunk | None] = []

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        self.heard.append(audio)
        return TurnEndVerdict(audio is not None, 0.5, "stub")


async def test_an_audio_detector_hears_the_callers_recent_audio() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    detector = HearsAudio()
    voice = AudioChunk.silence(1.0, 16000)
    judge = TurnJudge(detector, inputs, audio=lambda: voice)
    judge.finished("who am I talking to")
    assert await next_verdict(inputs) == TurnJudged("who am I talking to", True)
    assert detector.heard == [voice]
