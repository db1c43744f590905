"""A call's answer time: from the line offered, to joined, to the agent's first audible audio.

The runner notes when the line was offered and when it was joined (`LineMilestones`, on the
call's clock); the session hands every chunk of agent audio to `AnswerTimer.audio_out` just
before the line gets it, and the first audible one completes the measure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voice_agent.application.ports.clock import Clock
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import AnswerTime, Call


@dataclass(frozen=True, slots=True)
class LineMilestones:
    """Monotonic seconds (the call clock's `now()`) at which the line was offered and joined."""

    offered_at: float
    joined_at: float


class AnswerTimer:
    """Keeps `call.answer` up to date and tells `on_answered` once, at the first audible
    audio. Without milestones the line counts as offered and joined when the timer is made."""

    def __init__(
        self,
        call: Call,
        clock: Clock,
        milestones: LineMilestones | None,
        on_answered: Callable[[AnswerTime], None],
    ) -> None:
        self._clock = clock
        self._call = call
        self._on_answered = on_answered
        now = clock.now()
        self._line = milestones or LineMilestones(offered_at=now, joined_at=now)
        call.answer = AnswerTime(joined_ms=self._ms(self._line.joined_at))
        self.answered = False

    def audio_out(self, chunk: AudioChunk) -> None:
        """Agent audio about to be handed to the line."""
        if self.answered or not chunk.is_audible():
            return
        self.answered = True
        answer = AnswerTime(
            joined_ms=self._ms(self._line.joined_at),
            first_audio_ms=self._ms(self._clock.now()),
        )
        self._call.answer = answer
        self._on_answered(answer)

    def _ms(self, at: float) -> float:
        return round(max(at - self._line.offered_at, 0.0) * 1000, 3)
