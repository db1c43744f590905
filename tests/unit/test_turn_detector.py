"""Turn-taking decisions, driven with plain calls: no event loop, no timers, no models. The
detector is told what happened and when; what it returns is what the session would do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from voice_agent.application.ports.stt import FinalTranscript, InterimTranscript
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.session.inputs import Timer
from voice_agent.application.session.turn_detector import (
    BargeIn,
    Cancel,
    Decision,
    Dismiss,
    DropPreemption,
    Preempt,
    Schedule,
    TakeTurn,
    TurnDetector,
)
from voice_agent.domain.state import ConversationState
from voice_agent.domain.turn import Role, Turn

S = ConversationState
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CONFIG = SessionConfig()  # end of turn 0.35 s / 2.0 s, final transcript grace 1.0 s
MIN_DELAY = CONFIG.end_of_turn.min_delay_s
MAX_DELAY = CONFIG.end_of_turn.max_delay_s


class Call:
    """What the detector reads of the call: the time, the state, the caller's voice, and
    the end-of-turn verdict (None: the detector has not answered yet)."""

    def __init__(self, config: SessionConfig = CONFIG) -> None:
        self.time = 0.0
        self.state = S.LISTENING
        self.voice = False
        self.verdict: bool | None = True
        self.detector = TurnDetector(
            config,
            self,
            state=lambda: self.state,
            voice_active=lambda: self.voice,
            finished=lambda text: self.verdict,
        )

    def now(self) -> float:
        return self.time

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.time)

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("the detector never waits")

    def caller_says(self, text: str, *, start: float, end: float) -> list[Decision]:
        """Voice from `start` to `end`, the final transcript at the end; returns the
        decisions after the voice detector reported the end 0.1 s later."""
        self.time = start
        self.voice = True
        self.detector.voice_started(start)
        self.time = end
        self.detector.transcript(FinalTranscript(text), end)
        self.time = end + 0.1
        self.voice = False
        return self.detector.voice_ended(end)


def end_of_turn(decisions: list[Decision]) -> float | None:
    """When the turn would be taken, from now (None: not scheduled)."""
    for decision in decisions:
        if isinstance(decision, Schedule) and decision.timer is Timer.END_OF_TURN:
            return decision.delay_s
    return None


def test_a_finished_sentence_is_answered_after_the_short_delay_counted_from_speech_end() -> None:
    call = Call()
    decisions = call.caller_says("Book a table for two.", start=0.0, end=1.5)
    assert end_of_turn(decisions) == pytest.approx(MIN_DELAY - 0.1)
    assert Preempt("Book a table for two.", None) in decisions

    call.time = 1.5 + MIN_DELAY
    (taken,) = call.detector.end_of_turn_due()
    assert isinstance(taken, TakeTurn)
    assert taken.caller.speech.text == "Book a table for two."
    assert taken.caller.speech_end_at == 1.5
    assert taken.caller.started_at == START
    assert not call.detector.caller.has_words  # the next turn starts empty


def test_an_unfinished_or_not_yet_judged_turn_waits_the_long_delay() -> None:
    call = Call()
    call.verdict = None  # the end-of-turn model is still thinking
    decisions = call.caller_says("My number is", start=0.0, end=1.0)
    assert end_of_turn(decisions) == pytest.approx(MAX_DELAY - 0.1)
    call.verdict = False
    assert end_of_turn(call.detector.reconsider()) == pytest.approx(MAX_DELAY - 0.1)
    call.verdict = True  # the verdict landed: finished after all
    assert end_of_turn(call.detector.reconsider()) == pytest.approx(MIN_DELAY - 0.1)


def test_without_a_final_transcript_the_turn_waits_for_it_then_goes_with_the_interim() -> None:
    call = Call()
    call.voice = True
    call.detector.voice_started(0.0)
    call.detector.transcript(InterimTranscript("What time do you open"), 0.8)
    call.time, call.voice = 1.1, False
    decisions = call.detector.voice_ended(1.0)
    assert end_of_turn(decisions) == pytest.approx(CONFIG.final_transcript_grace_s - 0.1)
    assert DropPreemption() in decisions  # no final words: nothing to start the model on


def test_the_recognizer_s_whole_transcript_at_a_pause_starts_the_reply_before_the_final() -> None:
    call = Call()
    call.voice = True
    call.detector.voice_started(0.0)
    call.detector.transcript(InterimTranscript("What time do"), 0.5)
    # Voice is still on for the line (its detector waits out the silence rule), but the
    # recognizer has transcribed everything up to the pause.
    decisions = call.detector.transcript(
        InterimTranscript("What time do you open?", at_pause=True), 1.1
    )
    assert Preempt("What time do you open?", None) in decisions
    assert end_of_turn(decisions) is None  # the turn itself still waits for the voice's end
    call.time, call.voice = 1.3, False
    assert Preempt("What time do you open?", None) in call.detector.voice_ended(1.0)
    # The final says the same: the same words keep the running stream (same Preempt).
    final = call.detector.transcript(
        FinalTranscript("What time do you open?", speech_final=True), 1.3
    )
    assert Preempt("What time do you open?", None) in final


def test_a_transcript_at_a_pause_the_caller_talks_over_is_withdrawn() -> None:
    call = Call()
    call.voice = True
    call.detector.voice_started(0.0)
    call.detector.transcript(InterimTranscript("My number is", at_pause=True), 1.1)
    decisions = call.detector.transcript(InterimTranscript("My number is"), 1.2)
    assert DropPreemption() in decisions
    assert not any(isinstance(d, Preempt) for d in decisions)
    growing = call.detector.transcript(InterimTranscript("My number is five"), 1.5)
    assert not any(isinstance(d, Preempt) for d in growing)


def test_an_ordinary_interim_after_a_final_starts_nothing() -> None:
    call = Call()
    call.caller_says("Book a table.", start=0.0, end=1.0)
    call.voice = True
    decisions = call.detector.transcript(InterimTranscript("for two"), 1.5)
    assert DropPreemption() in decisions
    assert not any(isinstance(d, Preempt) for d in decisions)


def test_voice_starting_again_cancels_the_turn_and_the_preemptive_reply() -> None:
    call = Call()
    call.caller_says("Book a table.", start=0.0, end=1.0)
    call.voice = True
    decisions = call.detector.voice_started(1.2)
    assert Cancel(Timer.END_OF_TURN) in decisions
    assert DropPreemption() in decisions
    assert call.detector.end_of_turn_due() == []  # a stale timer takes nothing


def test_no_turn_is_taken_while_the_agent_holds_the_floor() -> None:
    call = Call()
    call.caller_says("Hello?", start=0.0, end=0.5)
    call.state = S.THINKING
    assert call.detector.end_of_turn_due() == []


def test_a_backchannel_over_the_agent_is_dismissed_once_its_final_transcript_is_in() -> None:
    call = Call()
    call.state = S.SPEAKING
    call.voice = True
    started = call.detector.voice_started(4.0)
    assert Schedule(Timer.OVERLAP_LONG, CONFIG.interruption.max_unconfirmed_speech_s) in started
    assert call.detector.transcript(InterimTranscript("mm-hm"), 4.3) == []
    call.voice = False
    ended = call.detector.voice_ended(4.4)
    assert ended == [
        Cancel(Timer.OVERLAP_LONG),
        Schedule(Timer.OVERLAP_FINAL, CONFIG.final_transcript_grace_s),
    ]
    assert call.detector.transcript(FinalTranscript("mm-hm"), 4.6) == [
        Cancel(Timer.OVERLAP_LONG),
        Cancel(Timer.OVERLAP_FINAL),
        Dismiss("mm-hm"),
    ]
    assert call.detector.overlap is None
    assert not call.detector.caller.has_words  # nothing of it reaches the caller's turn


def test_words_over_the_agent_barge_in_and_become_the_caller_s_turn() -> None:
    call = Call()
    call.state = S.SPEAKING
    call.voice, call.time = True, 4.0
    call.detector.voice_started(4.0)
    assert call.detector.transcript(InterimTranscript("wait"), 4.3) == [BargeIn()]
    call.detector.transcript(FinalTranscript("Wait, for three people."), 5.0)
    call.voice = False
    call.detector.voice_ended(5.1)
    call.state = S.LISTENING  # the session stopped the reply
    call.time = 5.2
    promoted = call.detector.promote_overlap()
    assert promoted[:2] == [Cancel(Timer.OVERLAP_LONG), Cancel(Timer.OVERLAP_FINAL)]
    assert end_of_turn(promoted) == pytest.approx(5.1 + MIN_DELAY - 5.2)
    assert call.detector.caller.speech.text == "Wait, for three people."
    assert call.detector.caller.started_at == START + timedelta(seconds=4.0)


def test_words_at_a_pause_over_the_agent_barge_in_and_start_the_reply_to_them() -> None:
    call = Call()
    call.state = S.SPEAKING
    call.voice, call.time = True, 4.0
    call.detector.voice_started(4.0)
    words = InterimTranscript("Wait, for three people.", at_pause=True)
    assert call.detector.transcript(words, 5.2) == [BargeIn()]
    call.state = S.LISTENING  # the session stopped the reply; the voice has not ended yet
    assert Preempt("Wait, for three people.", None) in call.detector.promote_overlap()


def test_long_voice_over_the_agent_without_any_transcript_is_a_barge_in() -> None:
    call = Call()
    call.state = S.SPEAKING
    call.voice = True
    call.detector.voice_started(4.0)
    call.time = 6.0
    assert call.detector.overlap_long() == [BargeIn()]
    call.detector.transcript(InterimTranscript("uh-huh"), 6.1)
    assert call.detector.overlap_long() == []  # a backchannel, however long


def test_an_overdue_final_transcript_dismisses_a_backchannel_on_the_interim() -> None:
    call = Call()
    call.state = S.SPEAKING
    call.detector.voice_started(1.0)
    call.detector.transcript(InterimTranscript("okay"), 1.2)
    call.detector.voice_ended(1.3)
    assert call.detector.overlap_final_overdue()[-1] == Dismiss("okay")
    assert call.detector.overlap is None
    assert call.detector.overlap_final_overdue() == []  # a stale timer decides nothing


def test_speech_after_a_reply_nobody_heard_continues_the_same_turn() -> None:
    call = Call()
    first = Turn(Role.CALLER, "I'd like to book", index=1, started_at=START)
    call.detector.continue_turn(first)
    decisions = call.caller_says("a table for two.", start=3.0, end=4.0)
    assert Preempt("a table for two.", first) in decisions
    (taken,) = [d for d in _due(call, 4.0 + MIN_DELAY) if isinstance(d, TakeTurn)]
    assert taken.caller.continues is first


def test_preemptive_generation_can_be_turned_off() -> None:
    call = Call(dataclasses.replace(CONFIG, preemptive_generation=False))
    decisions = call.caller_says("Book a table.", start=0.0, end=1.0)
    assert DropPreemption() in decisions
    assert not any(isinstance(d, Preempt) for d in decisions)


def _due(call: Call, at: float) -> list[Decision]:
    call.time = at
    return call.detector.end_of_turn_due()


def test_a_barge_in_of_only_a_preface_waits_for_the_rest_of_the_sentence() -> None:
    """The caller says "Sorry," over the agent, then pauses at the comma: the turn is not
    answered at the short delay, however finished "Sorry" sounds; the words that follow
    make it an ordinary turn."""
    call = Call()
    call.state = S.SPEAKING
    call.voice, call.time = True, 4.0
    call.detector.voice_started(4.0)
    assert call.detector.transcript(InterimTranscript("Sorry,"), 4.5) == [BargeIn()]
    call.voice = False
    call.detector.voice_ended(4.5)
    call.state = S.LISTENING  # the session stopped the reply
    call.time = 4.6
    assert end_of_turn(call.detector.promote_overlap()) == pytest.approx(4.5 + MAX_DELAY - 4.6)
    call.detector.voice_started(4.8)
    call.voice = False
    call.time = 6.0
    call.detector.transcript(FinalTranscript("Sorry, can I book a cleaning for Tuesday?"), 6.0)
    assert end_of_turn(call.detector.voice_ended(6.0)) == pytest.approx(MIN_DELAY)


def test_a_preface_is_answered_like_any_turn_when_not_a_barge_in() -> None:
    call = Call()
    decisions = call.caller_says("Sorry?", start=0.0, end=0.5)
    assert end_of_turn(decisions) == pytest.approx(MIN_DELAY - 0.1)
