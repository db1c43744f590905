"""The call session: one phone call, turn after turn, from answer to hang-up.

Everything that happens to a call (caller voice starting and stopping, transcripts, reply
progress, timers, hang-up) becomes an input on one queue, handled one at a time by
`_handle`. State therefore changes in one place and in order, while the slow work (the
model, synthesis, playout) runs in reply tasks that can be cancelled at any point.

`CallSession` coordinates the parts that do the work:

* `TurnDetector` (turn_detector.py): the caller's turn and caller speech over the agent;
  returns decisions (take the turn, barge in, dismiss, schedule a check, preempt).
* `Replies` (replies.py): the reply being spoken and the preemptive one.
* `CallGuards` (guards.py): silence prompts, maximum duration, recognizer reopening, tools.
* `TurnLog` (turn_log.py): turns, dialogue history, storage and events.
* `CallerLine` (line.py), `TurnJudge` (turn_judge.py), `Timers` (timers.py): the inputs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import LanguageModel, ToolCall
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.stt import SpeechToText
from voice_agent.application.ports.transport import (
    CallTransport,
    TransferFailed,
    TransferOutcome,
)
from voice_agent.application.ports.tts import TextToSpeech
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.ports.vad import VoiceActivityDetector
from voice_agent.application.resilience.retry import RetryPolicy
from voice_agent.application.session.answer import AnswerTimer, LineMilestones
from voice_agent.application.session.caller_turn import CallerTurn
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.session.guards import CallGuards, CannedLine, EndCall, Transfer
from voice_agent.application.session.inputs import (
    CallerHungUp,
    Dtmf,
    EndRequested,
    Input,
    ReplyAudioStarted,
    ReplyFinished,
    SttFailed,
    SttInput,
    Timer,
    TimerFired,
    TurnJudged,
    VoiceEndedAt,
    VoiceStartedAt,
)
from voice_agent.application.session.line import CallerLine
from voice_agent.application.session.recorder import CallRecorder
from voice_agent.application.session.replies import Replies, StoppedReply
from voice_agent.application.session.reply import ModelRequest
from voice_agent.application.session.timers import Timers
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
from voice_agent.application.session.turn_judge import TurnJudge
from voice_agent.application.session.turn_log import TurnLog
from voice_agent.domain.call import Call, EndReason
from voice_agent.domain.events import (
    CallAnswered,
    CallerInterrupted,
    FalseInterruptionIgnored,
    StateChanged,
    ToolCalled,
)
from voice_agent.domain.history import DialogueHistory
from voice_agent.domain.language import is_goodbye
from voice_agent.domain.state import ConversationState, ConversationStateMachine
from voice_agent.domain.turn import Turn

log = logging.getLogger(__name__)

S = ConversationState


@dataclass(frozen=True, slots=True)
class SessionPorts:
    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech
    vad: VoiceActivityDetector
    repository: CallRepository
    clock: Clock
    canned: CannedSpeech
    sinks: Sequence[EventSink] = ()
    storage_retry: RetryPolicy | None = None
    """When to write a call's record again after a retryable storage failure (no retry
    when None)."""
    turn_end: TurnEndDetector | None = None
    """Judges whether the caller finished; None: the text rules, in place."""


class CallSession:
    """Runs one call on `transport`; `run()` returns the finished `Call`."""

    def __init__(
        self,
        transport: CallTransport,
        ports: SessionPorts,
        config: SessionConfig,
        *,
        line: LineMilestones | None = None,
    ) -> None:
        """`line`: when the line was offered and joined (the call's answer time starts at
        the offer); without it, both count as now."""
        self._transport = transport
        self._ports = ports
        self._config = config
        self._clock = ports.clock
        self._inputs: asyncio.Queue[Input] = asyncio.Queue()
        self._machine = ConversationStateMachine()
        self._timers = Timers(self._inputs)
        self._guards = CallGuards(config, self._timers)
        self.call = Call(caller_number=transport.caller_number, started_at=self._clock.wall())
        recorder = CallRecorder(
            ports.repository,
            self.call.id,
            clock=ports.clock,
            retry=ports.storage_retry,
            max_events=config.max_stored_events,
            on_failure=lambda event: self._log.publish(event),
        )
        history = DialogueHistory(config.system_prompt, config.history_token_budget)
        self._log = TurnLog(self.call, history, recorder, self._clock, ports.sinks)
        self._answer_timer = AnswerTimer(
            self.call,
            self._clock,
            line,
            lambda answer: self._log.publish(CallAnswered(self.call.id, self._log.epoch(), answer)),
        )
        self._line = CallerLine(
            transport,
            ports.stt,
            ports.vad,
            self._clock,
            self._inputs,
            keep_recent_audio=ports.turn_end is not None and ports.turn_end.needs_audio,
        )
        self._judge = TurnJudge(
            ports.turn_end,
            self._inputs,
            audio=self._line.recent_audio,
            silence=self._line.silent_for,
            sleep=self._clock.sleep,
        )
        self._turns = TurnDetector(
            config,
            self._clock,
            state=lambda: self._machine.state,
            voice_active=lambda: self._line.voice_active,
            finished=self._judge.finished,
        )
        self._replies = Replies(
            transport,
            llm=ports.llm,
            tts=ports.tts,
            canned=ports.canned,
            clock=self._clock,
            config=config,
            inputs=self._inputs,
            closing_line=self._guards.closing_line,
            report_failure=self._log.failure,
            audio_out=self._answer_timer.audio_out,
        )

    @property
    def state(self) -> ConversationState:
        return self._machine.state

    @property
    def history(self) -> DialogueHistory:
        return self._log.history

    # -- lifecycle -------------------------------------------------------------------
    async def run(self) -> Call:
        """Run the call to its end. Whatever stops it, the call is ended, stored and
        published (`CallEnded`) before this returns: an unexpected error ends it as
        `internal_error` (failed, and returned normally); a cancellation ends it as
        `cancelled` and is then re-raised."""
        self._log.start()
        prepare: asyncio.Task[object] | None = None
        try:
            self._log.opened()
            rate = self._transport.output_sample_rate
            prepare = asyncio.create_task(
                self._ports.canned.prepare(self._config.prompts.apology, rate), name="apology"
            )
            await self._answer()
            while self.state is not S.ENDED:
                await self._handle(await self._inputs.get())
        except asyncio.CancelledError:
            self._guards.failed = True
            await self._abandon(EndReason.CANCELLED)
            raise
        except Exception:
            log.exception("call %s failed unexpectedly", self.call.id)
            self._guards.failed = True
            await self._abandon(EndReason.INTERNAL_ERROR)
        finally:
            await self._shutdown(prepare)
        return self.call

    def end_now(self, reason: EndReason, *, goodbye: bool = False) -> None:
        """Ask the session to end the call (e.g. `SERVER_SHUTDOWN`): the reply in progress
        stops, the line is hung up, the call is stored with `reason`. With `goodbye`, the
        caller first hears the shutdown goodbye (the call ends when it is heard, or at once
        on a second `end_now`)."""
        self._inputs.put_nowait(EndRequested(reason, goodbye))

    async def _handle(self, item: Input) -> None:
        match item:
            case VoiceStartedAt():
                await self._apply(self._turns.voice_started(item.at))
            case VoiceEndedAt():
                await self._apply(self._turns.voice_ended(item.speech_end_at))
            case SttInput():
                await self._apply(self._turns.transcript(item.event, item.at))
            case TurnJudged():
                if self._judge.record(item):
                    await self._apply(self._turns.reconsider())
            case ReplyAudioStarted():
                if self._replies.is_current(item.reply):
                    self._move_to(S.SPEAKING)
            case ReplyFinished():
                if self._replies.is_current(item.reply):
                    await self._on_reply_finished(item.error)
            case TimerFired():
                if self._timers.is_current(item):
                    await self._on_timer(item.timer)
            case CallerHungUp():
                await self._on_caller_hung_up()
            case Dtmf():
                self._on_key_pressed(item.digit)
            case SttFailed():
                await self._on_stt_failed(item.error)
            case EndRequested(goodbye=True) if self._saying_last_words():
                pass  # that line ends the call once heard
            case EndRequested(reason, goodbye=True) if self._line_is_up():
                self._timers.cancel_all()
                if await self._stop_reply() is not None:
                    self._move_to(S.LISTENING)
                self._say(self._guards.shutdown_line(reason))
            case EndRequested():
                await self._end(item.reason)

    async def _apply(self, decisions: Sequence[Decision]) -> None:
        """Carry out the turn detector's decisions, in order."""
        for decision in decisions:
            match decision:
                case Schedule(timer, delay_s):
                    self._timers.schedule(timer, delay_s)
                case Cancel(timer):
                    self._timers.cancel(timer)
                case Preempt(text, continues):
                    self._preempt(text, continues)
                case DropPreemption():
                    self._replies.drop_preemption()
                case TakeTurn(caller):
                    self._take_turn(caller)
                case BargeIn():
                    await self._barge_in()
                case Dismiss(text):
                    event = FalseInterruptionIgnored(self.call.id, self._log.epoch(), text)
                    self._log.record(event)
                    if self._replies.active is None:
                        self._arm_silence()

    async def _on_timer(self, timer: Timer) -> None:
        match timer:
            case Timer.END_OF_TURN:
                await self._apply(self._turns.end_of_turn_due())
            case Timer.SILENCE:
                self._on_silence()
            case Timer.MAX_DURATION:
                if await self._stop_reply() is not None:
                    self._move_to(S.LISTENING)
                self._say(self._guards.time_limit_line())
            case Timer.OVERLAP_LONG:
                await self._apply(self._turns.overlap_long())
            case Timer.OVERLAP_FINAL:
                await self._apply(self._turns.overlap_final_overdue())
            case Timer.KEYPAD:
                self._answer_keys()

    # -- the answer and the end ------------------------------------------------------
    async def _answer(self) -> None:
        try:
            await self._line.start()
        except Exception as error:
            self._log.failure("stt", error)
            self._say(self._guards.failure_line())
        else:
            self._guards.start_clock()
            self._say(CannedLine(self._config.prompts.greeting))

    def _line_is_up(self) -> bool:
        return self.state is not S.ENDED and self._guards.hang_up_on_end

    def _saying_last_words(self) -> bool:
        """A line that ends the call even if interrupted is being said (a goodbye)."""
        saying = self._replies.active
        return saying is not None and saying.then_end is not None and saying.end_even_if_interrupted

    async def _end(self, reason: EndReason) -> None:
        if self.state is S.ENDED:
            return
        self._timers.cancel_all()
        try:
            await self._stop_reply()
        finally:
            self._move_to(S.ENDED)
            self._log.close(reason, failed=self._guards.failed)
        if self._guards.hang_up_on_end:
            await self._transport.hang_up()

    async def _abandon(self, reason: EndReason) -> None:
        """End the call after something went wrong: no courtesies, nothing that could fail
        in turn stops the call from being closed, stored and published (not even another
        cancellation while the reply stops)."""
        self._timers.cancel_all()
        try:
            await self._replies.abandon()
        finally:
            if self.state is not S.ENDED:
                self._move_to(S.ENDED)
            if self.call.is_active:
                self._log.close(reason, failed=self._guards.failed)
        if self._guards.hang_up_on_end:
            try:
                await self._transport.hang_up()
            except Exception:
                log.exception("could not hang up call %s", self.call.id)

    async def _shutdown(self, prepare: asyncio.Task[object] | None) -> None:
        self._timers.cancel_all()
        await self._judge.close()
        await self._replies.close()
        if prepare is not None:
            prepare.cancel()
            await asyncio.gather(prepare, return_exceptions=True)
        try:
            await self._line.stop()
        finally:
            await self._log.flush()

    # -- turns -----------------------------------------------------------------------
    def _take_turn(self, caller: CallerTurn) -> None:
        now = self._clock.now()
        turn = self._log.caller_turn(caller)
        self._judge.reset()
        request = self._log.request(self._guards.tools)
        preempted = self._replies.take_preemption(request)
        self._move_to(S.THINKING)
        active = self._replies.start(request, answers=turn, reply=preempted)
        active.measure(caller, now)
        if is_goodbye(caller.speech.text):
            active.then_end = EndReason.GOODBYE

    def _preempt(self, text: str, continues: Turn | None) -> None:
        def request() -> ModelRequest:
            return self._log.request_if_taken(text, continues is not None, self._guards.tools)

        self._replies.preempt(text, continues, request)

    def _on_key_pressed(self, digit: str) -> None:
        """Stored and noted for the model; once the caller stops pressing, answered."""
        self._log.key_pressed(digit)
        self._timers.cancel(Timer.SILENCE)
        delay = 0.0 if digit == "#" else self._config.keypad_turn_delay_s
        self._timers.schedule(Timer.KEYPAD, delay)

    def _answer_keys(self) -> None:
        """The caller pressed keys and stopped: the model answers them, unless the floor is
        taken (the agent talking, the caller speaking): then it sees them with the next turn."""
        if self.state is not S.LISTENING or self._line.voice_active or self._turns.caller.has_words:
            return
        self._move_to(S.THINKING)
        self._replies.start(self._log.request(self._guards.tools))

    def _say(self, line: CannedLine) -> None:
        """Speak a canned line (no model): THINKING until its audio plays, like any reply."""
        if self.state is S.LISTENING:
            self._move_to(S.THINKING)
        active = self._replies.start([line.text])
        active.then_end = line.then_end
        active.end_even_if_interrupted = line.firm

    async def _on_reply_finished(self, error: BaseException | None) -> None:
        active = self._replies.finished()
        if error is not None:
            self._log.failure("reply", error)
        output = active.reply.output
        self._log.agent_turn(active, heard=output.text, interrupted=False)
        self._move_to(S.LISTENING)
        for call in output.tool_calls:
            event = ToolCalled(self.call.id, self._log.epoch(), call.name, dict(call.arguments))
            self._log.record(event)
        if await self._act_on_tools(output.tool_calls):
            return
        if active.then_end is not None:
            await self._end(active.then_end)
            return
        # Caller speech that began during the reply goes on as the caller's turn.
        await self._apply(self._turns.promote_overlap())
        self._arm_silence()

    async def _act_on_tools(self, calls: Sequence[ToolCall]) -> bool:
        match self._guards.tool_action(calls):
            case Transfer(destination):
                try:
                    await self._transport.transfer(destination)
                except Exception as error:
                    outcome = (
                        error.outcome
                        if isinstance(error, TransferFailed)
                        else TransferOutcome.FAILED
                    )
                    self._log.failure("transfer", error, outcome=outcome.value)
                    self._say(self._guards.transfer_failed_line(outcome))
                    return True
                self._guards.hang_up_on_end = False
                await self._end(EndReason.TRANSFERRED)
                return True
            case EndCall():
                await self._end(EndReason.AGENT_ENDED)
                return True
            case None:
                return False

    async def _barge_in(self) -> None:
        """The caller took the floor: stop talking now and keep only what was heard; the
        overlapping speech becomes the caller's turn."""
        stopped = await self._stop_reply()
        if stopped is None:
            await self._apply(self._turns.promote_overlap())
            return
        heard_s = self._replies.heard_seconds(stopped.active)
        self._log.record(CallerInterrupted(self.call.id, self._log.epoch(), heard_s))
        self._move_to(S.LISTENING)
        await self._apply(self._turns.promote_overlap())
        active = stopped.active
        if active.end_even_if_interrupted and active.then_end is not None:
            await self._end(active.then_end)

    async def _stop_reply(self) -> StoppedReply | None:
        """Stop the reply being spoken, if any, and store what the caller heard of it."""
        stopped = await self._replies.stop()
        if stopped is None:
            return None
        answers = stopped.active.answers
        if not stopped.heard_anything and answers is not None:
            # Nothing was heard: the caller simply went on with the same turn.
            self._turns.continue_turn(answers)
        else:
            self._log.agent_turn(stopped.active, heard=stopped.heard, interrupted=True)
        return stopped

    # -- guards ----------------------------------------------------------------------
    def _arm_silence(self) -> None:
        listening = self.state is S.LISTENING
        self._guards.arm_silence(listening=listening, voice_active=self._line.voice_active)

    def _on_silence(self) -> None:
        if self.state is not S.LISTENING or self._line.voice_active or self._turns.caller.has_words:
            return
        self._say(self._guards.silence_line())

    async def _on_caller_hung_up(self) -> None:
        self._guards.hang_up_on_end = False
        await self._stop_reply()
        self._log.cut_short(self._turns.caller)
        await self._end(EndReason.CALLER_HUNG_UP)

    async def _on_stt_failed(self, error: Exception) -> None:
        self._log.failure("stt", error)
        if self._guards.may_reopen_stt():
            try:
                await self._line.reopen_recognizer()
                return
            except Exception as reopen_error:
                self._log.failure("stt", reopen_error)
        line = self._guards.failure_line()
        if await self._stop_reply() is not None:
            self._move_to(S.LISTENING)
        self._say(line)

    def _move_to(self, target: ConversationState) -> None:
        previous = self.state
        if previous is target:
            return
        if previous is S.LISTENING:
            self._replies.drop_preemption()  # a preemptive reply is only taken while listening
        self._machine.move_to(target)
        self._log.publish(StateChanged(self.call.id, self._log.epoch(), previous, target))
