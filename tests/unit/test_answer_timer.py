"""`AnswerTimer`: the first audible chunk of agent audio ends a call's answer time."""

from __future__ import annotations

from datetime import UTC, datetime

from voice_agent.application.session.answer import AnswerTimer, LineMilestones
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import AnswerTime, Call


class StepClock:
    def __init__(self) -> None:
        self.at = 10.0

    def now(self) -> float:
        return self.at

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        self.at += seconds


def _tone(amplitude: int) -> AudioChunk:
    return AudioChunk(amplitude.to_bytes(2, "little", signed=True) * 320, 16000)


def test_silence_and_faint_noise_do_not_answer_the_call() -> None:
    clock = StepClock()
    call = Call(caller_number=None, started_at=clock.wall())
    answered: list[AnswerTime] = []
    timer = AnswerTimer(call, clock, LineMilestones(offered_at=9.0, joined_at=9.5), answered.append)
    assert call.answer == AnswerTime(joined_ms=500.0)
    clock.at = 10.2
    timer.audio_out(AudioChunk.silence(0.02, 16000))
    timer.audio_out(_tone(-20))  # the noise floor some synthesizers pad with
    assert answered == []
    assert call.answer == AnswerTime(joined_ms=500.0)
    clock.at = 10.5
    timer.audio_out(_tone(-2000))
    clock.at = 11.0
    timer.audio_out(_tone(3000))  # only the first audible chunk counts
    assert answered == [AnswerTime(joined_ms=500.0, first_audio_ms=1500.0)]
    assert call.answer == answered[0]
