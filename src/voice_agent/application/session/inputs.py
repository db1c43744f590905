"""Everything that can happen to a call, as inputs on the session's queue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from voice_agent.application.ports.stt import SttEvent
from voice_agent.domain.call import EndReason

if TYPE_CHECKING:
    from voice_agent.application.session.reply import AgentReply


@dataclass(frozen=True, slots=True)
class VoiceStartedAt:
    at: float


@dataclass(frozen=True, slots=True)
class VoiceEndedAt:
    speech_end_at: float
    """Loop time the voice actually stopped (the detector noticed later)."""


@dataclass(frozen=True, slots=True)
class SttInput:
    event: SttEvent
    at: float


@dataclass(frozen=True, slots=True)
class SttFailed:
    error: Exception


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    pass


@dataclass(frozen=True, slots=True)
class EndRequested:
    """Someone outside the call ends it (e.g. the server is shutting down): at once, or
    after a short goodbye."""

    reason: EndReason
    goodbye: bool = False


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class ReplyAudioStarted:
    reply: AgentReply


@dataclass(frozen=True, slots=True)
class ReplyFinished:
    reply: AgentReply
    error: BaseException | None


class Timer(Enum):
    """The session's one-shot timers (`Timers`); at most one of each runs at a time."""

    END_OF_TURN = "end_of_turn"
    """Take the caller's turn: the end-of-turn delay after their speech ended is over."""
    SILENCE = "silence"
    """The caller said nothing for `silence_timeout_s` while the agent listened."""
    MAX_DURATION = "max_duration"
    """The call reached `max_call_duration_s`."""
    OVERLAP_LONG = "overlap_long"
    """Caller voice over the agent went on long enough to be a barge-in without words."""
    OVERLAP_FINAL = "overlap_final"
    """Caller voice over the agent ended and its final transcript is overdue."""
    KEYPAD = "keypad"
    """The caller stopped pressing keys (`keypad_turn_delay_s` after the last, at once
    after `#`): while nobody speaks, the model answers them."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    timer: Timer
    generation: int


@dataclass(frozen=True, slots=True)
class TurnJudged:
    """The end-of-turn detector's verdict on the caller's `text`."""

    text: str
    finished: bool


Input = (
    VoiceStartedAt
    | VoiceEndedAt
    | SttInput
    | SttFailed
    | CallerHungUp
    | EndRequested
    | Dtmf
    | ReplyAudioStarted
    | ReplyFinished
    | TurnJudged
    | TimerFired
)
