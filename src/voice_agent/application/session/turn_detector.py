"""Turn-taking for one call: the caller's turn in progress, caller speech over the agent (a
possible barge-in), and when to take the turn, as decisions.

No asyncio and no I/O: the session tells the detector what happened (voice started or
ended, a transcript, a timer that fired, a verdict that landed) and applies the `Decision`s
it returns, in order. What the detector reads of the outside world it asks through plain
callables: the conversation state, whether voice is heard right now, and the end-of-turn
verdict on a text (None while a detector still thinks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.application.session.caller_turn import CallerTurn, Overlap
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.session.inputs import Timer
from voice_agent.domain.state import ConversationState
from voice_agent.domain.turn import Turn

S = ConversationState


@dataclass(frozen=True, slots=True)
class Schedule:
    """(Re)start `timer` to fire in `delay_s`."""

    timer: Timer
    delay_s: float


@dataclass(frozen=True, slots=True)
class Cancel:
    timer: Timer


@dataclass(frozen=True, slots=True)
class Preempt:
    """Start the model on the caller's words now, while the end-of-turn delay runs (keep the
    stream already running for the same words)."""

    text: str
    continues: Turn | None


@dataclass(frozen=True, slots=True)
class DropPreemption:
    """Cancel the preemptive model stream, if any."""


@dataclass(frozen=True, slots=True)
class TakeTurn:
    """The caller finished: answer `caller` (the detector already starts a fresh turn)."""

    caller: CallerTurn


@dataclass(frozen=True, slots=True)
class BargeIn:
    """Caller speech over the agent is a real interruption: stop talking if still talking,
    and make the overlap the caller's turn (`promote_overlap`)."""


@dataclass(frozen=True, slots=True)
class Dismiss:
    """Caller sound over the agent was no interruption (a cough, "mm-hm"): it is dropped."""

    text: str


Decision = Schedule | Cancel | Preempt | DropPreemption | TakeTurn | BargeIn | Dismiss

_DROP_OVERLAP = (Cancel(Timer.OVERLAP_LONG), Cancel(Timer.OVERLAP_FINAL))


class TurnDetector:
    """One call's turn-taking decisions. `state`: the conversation state now;
    `voice_active`: whether the caller's voice is heard now (the line may know before its
    input is handled); `finished`: the end-of-turn verdict on a text, None while unknown."""

    def __init__(
        self,
        config: SessionConfig,
        clock: Clock,
        *,
        state: Callable[[], ConversationState],
        voice_active: Callable[[], bool],
        finished: Callable[[str], bool | None],
    ) -> None:
        self._config = config
        self._clock = clock
        self._state = state
        self._voice_active = voice_active
        self._finished = finished
        self.caller = CallerTurn()
        self.overlap: Overlap | None = None

    # -- the caller's voice ----------------------------------------------------------
    def voice_started(self, at: float) -> list[Decision]:
        decisions: list[Decision] = [
            Cancel(Timer.SILENCE),
            Cancel(Timer.END_OF_TURN),
            DropPreemption(),  # the caller goes on: the answer would be to half a turn
        ]
        if self._state() in (S.THINKING, S.SPEAKING):
            if self.overlap is None:
                self.overlap = Overlap(started_at=at, started_wall=self._clock.wall())
            self.overlap.voice_ended_at = None
            decisions += [
                Cancel(Timer.OVERLAP_FINAL),
                Schedule(Timer.OVERLAP_LONG, self._config.interruption.max_unconfirmed_speech_s),
            ]
            return decisions
        if self.caller.started_at is None:
            self.caller.started_at = self._clock.wall()
        self.caller.speech_end_at = None
        self.caller.speech.ends_on_pause = False
        return decisions

    def voice_ended(self, speech_end_at: float) -> list[Decision]:
        if self.overlap is not None:
            self.overlap.voice_ended_at = speech_end_at
            return [
                Cancel(Timer.OVERLAP_LONG),
                Schedule(Timer.OVERLAP_FINAL, self._config.final_transcript_grace_s),
            ]
        if self.caller.started_at is None:
            return []  # voice ended that began as an overlap already dismissed
        self.caller.speech_end_at = speech_end_at
        return self.reconsider()

    def transcript(self, event: SttEvent, at: float) -> list[Decision]:
        if self.overlap is not None:
            return self._overlap_transcript(self.overlap, event, at)
        caller = self.caller
        speech = caller.speech
        if isinstance(event, InterimTranscript):
            speech.add_interim(event.text, at_pause=event.at_pause)
        elif isinstance(event, FinalTranscript):
            speech.add_final(event.text, at, speech_final=event.speech_final)
            if event.speech_final and caller.speech_end_at is None and not self._voice_active():
                caller.speech_end_at = at  # the recognizer's endpointing saw the pause
        elif (
            isinstance(event, UtteranceEnded)
            and caller.speech_end_at is None
            and not self._voice_active()
            and caller.has_words
        ):
            caller.speech_end_at = at
        if caller.has_words and caller.started_at is None:
            caller.started_at = self._clock.wall()
        return self.reconsider()

    # -- end of turn -----------------------------------------------------------------
    def reconsider(self) -> list[Decision]:
        """(Re)schedule taking the caller's turn, or cancel it if it is not time yet; keep a
        preemptive reply only on the caller's final words after a pause, or on the
        recognizer's whole transcript at a pause it has not yet confirmed as the end."""
        caller = self.caller
        decisions: list[Decision] = [self._preemption()]
        if (
            self._state() is not S.LISTENING
            or self._voice_active()
            or caller.speech_end_at is None
            or not caller.has_words
        ):
            decisions.append(Cancel(Timer.END_OF_TURN))
            return decisions
        finished = self._finished(caller.speech.text)
        if caller.barged_in and self._config.interruption.is_preface(caller.speech.text):
            finished = False  # "Sorry," then the question: wait for it
        # Until the detector answers, the turn counts as unfinished: a slow or hung detector
        # costs the long delay, never an answer to half a sentence.
        due = caller.speech_end_at + self._config.end_of_turn.delay(finished=bool(finished))
        if caller.speech.interim_pending or not caller.speech.finals:
            # Wait for the final transcript, but not forever: then go with the interim.
            due = max(due, caller.speech_end_at + self._config.final_transcript_grace_s)
        decisions.append(Schedule(Timer.END_OF_TURN, due - self._clock.now()))
        return decisions

    def _preemption(self) -> Preempt | DropPreemption:
        caller = self.caller
        speech = caller.speech
        if not (
            self._config.preemptive_generation and self._state() is S.LISTENING and caller.has_words
        ):
            return DropPreemption()
        if speech.interim_pending:
            settled = speech.interim_at_pause  # what the final will say if the pause holds
        else:
            settled = bool(speech.finals) and (speech.ends_on_pause or not self._voice_active())
        return Preempt(speech.text, caller.continues) if settled else DropPreemption()

    def end_of_turn_due(self) -> list[Decision]:
        """The end-of-turn timer fired: take the turn if the caller is still done."""
        if self._state() is S.LISTENING and self.caller.has_words and not self._voice_active():
            caller, self.caller = self.caller, CallerTurn()
            return [TakeTurn(caller)]
        return []

    def continue_turn(self, turn: Turn) -> None:
        """The reply to `turn` was cut off before the caller heard any of it: what the
        caller says now is the rest of that turn."""
        self.caller.continues = turn

    # -- overlapping speech (possible barge-in) --------------------------------------
    def _overlap_transcript(self, overlap: Overlap, event: SttEvent, at: float) -> list[Decision]:
        if isinstance(event, InterimTranscript):
            overlap.speech.add_interim(event.text, at_pause=event.at_pause)
        elif isinstance(event, FinalTranscript):
            overlap.speech.add_final(event.text, at)
        if self._config.interruption.confirmed_by_words(overlap.speech.text):
            return [BargeIn()]
        if (
            overlap.voice_ended_at is not None
            and not overlap.speech.interim_pending
            and isinstance(event, FinalTranscript | UtteranceEnded)
        ):
            return self._dismiss(overlap)
        return []

    def overlap_long(self) -> list[Decision]:
        """Voice over the agent has gone on for a while: without words, that is a barge-in."""
        overlap = self.overlap
        if overlap is not None and self._config.interruption.confirmed_by_duration(
            self._clock.now() - overlap.started_at, overlap.speech.text
        ):
            return [BargeIn()]
        return []

    def overlap_final_overdue(self) -> list[Decision]:
        """Voice over the agent ended a while ago: decide on the words heard so far."""
        overlap = self.overlap
        if overlap is None:
            return []
        if self._config.interruption.confirmed_by_words(overlap.speech.text):
            return [BargeIn()]
        return self._dismiss(overlap)

    def _dismiss(self, overlap: Overlap) -> list[Decision]:
        self.overlap = None
        return [*_DROP_OVERLAP, Dismiss(overlap.speech.text)]

    def promote_overlap(self) -> list[Decision]:
        """Overlapping speech that turned out real becomes the caller's turn in progress."""
        overlap = self.overlap
        if overlap is None:
            return []
        self.overlap = None
        self.caller.speech = overlap.speech
        self.caller.barged_in = True
        self.caller.started_at = overlap.started_wall
        self.caller.speech_end_at = overlap.voice_ended_at
        return [*_DROP_OVERLAP, *self.reconsider()]
