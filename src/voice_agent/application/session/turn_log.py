"""What a call leaves behind: its record and turns, the dialogue history the model sees, all
stored through the recorder and published to the event sinks."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import ToolSpec
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.session.caller_turn import CallerTurn
from voice_agent.application.session.recorder import CallRecorder
from voice_agent.application.session.replies import ActiveReply
from voice_agent.application.session.reply import ModelRequest
from voice_agent.domain.call import Call, EndReason
from voice_agent.domain.events import (
    CallEnded,
    CallerInterrupted,
    CallStarted,
    DomainEvent,
    DtmfReceived,
    FalseInterruptionIgnored,
    ProviderFailed,
    ToolCalled,
    TurnCompleted,
)
from voice_agent.domain.history import DialogueHistory
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn

log = logging.getLogger(__name__)

KEYPAD_NOTE = "[keypad]"
"""How key presses appear to the model: one caller message per run of presses."""
StoredEvent = (
    ProviderFailed | DtmfReceived | CallerInterrupted | FalseInterruptionIgnored | ToolCalled
)


class TurnLog:
    """The one place a `Turn` is made: a caller turn taken (or cut short by a hang-up), an
    agent turn heard in full or interrupted. Each is added to the call, to the history when
    the model should see it, stored and published (`TurnCompleted`)."""

    def __init__(
        self,
        call: Call,
        history: DialogueHistory,
        recorder: CallRecorder,
        clock: Clock,
        sinks: Sequence[EventSink],
    ) -> None:
        self.call = call
        self.history = history
        self._recorder = recorder
        self._clock = clock
        self._sinks = sinks
        self._keypad_note_last = False
        """The history's last message is a keypad note that further presses extend."""

    # -- turns -----------------------------------------------------------------------
    def caller_turn(self, caller: CallerTurn) -> Turn:
        """The caller's turn taken: a new one, or the rest of one whose reply was cut off
        before anything was heard (one turn, one message for the model)."""
        text = caller.speech.text
        if caller.continues is not None:
            turn = caller.continues
            turn.text = turn.heard_text = f"{turn.text} {text}".strip()
            self.history.extend_last_user(text)
        else:
            turn = self._new_caller_turn(text, caller)
            self.history.add_user(text)
        self._keypad_note_last = False
        turn.ended_at = self._clock.wall()
        self._complete(turn)
        return turn

    def cut_short(self, caller: CallerTurn) -> None:
        """The caller hung up mid-turn: keep what they said (the model never sees it)."""
        if caller.has_words:
            turn = self._new_caller_turn(caller.speech.text, caller)
            turn.ended_at = self._clock.wall()
            self._complete(turn)

    def agent_turn(self, active: ActiveReply, *, heard: str, interrupted: bool) -> None:
        """An agent reply over; the model's history gets only what the caller `heard`."""
        output = active.reply.output
        if not output.text and not interrupted:
            return
        timings = active.reply.timings
        turn = Turn(
            role=Role.AGENT,
            text=output.text,
            heard_text=heard,
            interrupted=interrupted,
            index=self.call.next_turn_index(),
            started_at=active.started_wall,
            ended_at=self._clock.wall(),
            latency=LatencyBreakdown(
                eou_ms=active.eou_ms,
                stt_ms=active.stt_ms,
                llm_ttft_ms=_ms(timings.llm_request_at, timings.first_token_at),
                tts_ttfb_ms=_ms(timings.first_text_at, timings.first_audio_at),
                e2e_ms=_ms(active.speech_end_at, timings.first_audio_at),
            ),
        )
        self.call.turns.append(turn)
        self.history.add_assistant(heard)
        self._keypad_note_last = False
        self._complete(turn)

    def _new_caller_turn(self, text: str, caller: CallerTurn) -> Turn:
        turn = Turn(
            role=Role.CALLER,
            text=text,
            index=self.call.next_turn_index(),
            started_at=caller.started_at or self._clock.wall(),
        )
        self.call.turns.append(turn)
        return turn

    def _complete(self, turn: Turn) -> None:
        self._recorder.save_turn(turn)
        self.publish(TurnCompleted(self.call.id, self.epoch(), copy.copy(turn)))

    # -- what the model is asked -----------------------------------------------------
    def request(self, tools: Sequence[ToolSpec]) -> ModelRequest:
        return ModelRequest(self.history.for_model(), tools)

    def request_if_taken(
        self, caller: str, continues: bool, tools: Sequence[ToolSpec]
    ) -> ModelRequest:
        """The request taking the caller's turn now would make, history left untouched."""
        history = copy.deepcopy(self.history)
        if continues:
            history.extend_last_user(caller)
        else:
            history.add_user(caller)
        return ModelRequest(history.for_model(), tools)

    # -- the call record and events --------------------------------------------------
    def start(self) -> None:
        self._recorder.start()

    def opened(self) -> None:
        self._recorder.save_call(self.call)
        self.publish(CallStarted(self.call.id, self.epoch(), self.call.caller_number))

    def close(self, reason: EndReason, *, failed: bool) -> None:
        """End the call: stored (queued for the recorder) and published to the sinks."""
        self.call.end(reason, self._clock.wall(), failed=failed)
        self._recorder.save_call(self.call)
        self.publish(CallEnded(self.call.id, self.epoch(), self.call.status, reason))

    async def flush(self) -> None:
        """Finish every pending write."""
        await self._recorder.close()

    def record(self, event: StoredEvent) -> None:
        self._recorder.record_event(event)
        self.publish(event)

    def key_pressed(self, digit: str) -> None:
        """Stored, and noted in the history: the model sees it with its next request (a key
        press alone does not ask for a reply)."""
        self.record(DtmfReceived(self.call.id, self.epoch(), digit))
        if self._keypad_note_last:
            self.history.extend_last_user(digit)
        else:
            self.history.add_user(f"{KEYPAD_NOTE} {digit}")
            self._keypad_note_last = True

    def failure(self, stage: str, error: BaseException, *, outcome: str | None = None) -> None:
        provider = str(getattr(error, "provider", "unknown"))
        event = ProviderFailed(self.call.id, self.epoch(), stage, str(error), provider, outcome)
        self.record(event)

    def publish(self, event: DomainEvent) -> None:
        for sink in self._sinks:
            try:
                sink(event)
            except Exception:
                log.exception("event sink failed")

    def epoch(self) -> float:
        return self._clock.wall().timestamp()


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 3)
