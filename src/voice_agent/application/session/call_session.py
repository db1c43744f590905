"""The call session: one phone call, turn after turn, from answer to hang-up.

Everything that happens to a call (caller voice starting and stopping, transcripts, reply
progress, timers, hang-up) becomes an input on one queue, handled one at a time by
`_handle`. State therefore changes in one place and in order, while the slow work (the
model, synthesis, playout) runs in reply tasks that can be cancelled at any point.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import LanguageModel, ToolCall
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
    SpeechToText,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.application.ports.transport import CallTransport
from voice_agent.application.ports.tts import TextToSpeech
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.ports.vad import VoiceActivityDetector
from voice_agent.application.resilience.retry import RetryPolicy
from voice_agent.application.session.caller_turn import CallerTurn, Overlap
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
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
from voice_agent.application.session.reply import AgentReply, ModelRequest
from voice_agent.application.session.timers import Timers
from voice_agent.application.session.tools import tools_for
from voice_agent.application.session.turn_judge import TurnJudge
from voice_agent.domain.call import Call, EndReason
from voice_agent.domain.events import (
    CallEnded,
    CallerInterrupted,
    CallStarted,
    DomainEvent,
    DtmfReceived,
    FalseInterruptionIgnored,
    ProviderFailed,
    StateChanged,
    ToolCalled,
    TurnCompleted,
)
from voice_agent.domain.history import DialogueHistory
from voice_agent.domain.language import is_goodbye
from voice_agent.domain.state import ConversationState, ConversationStateMachine
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn

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


@dataclass(slots=True)
class ActiveReply:
    reply: AgentReply
    task: asyncio.Task[None]
    started_wall: datetime
    answers: Turn | None = None
    """The caller turn this reply answers (None for canned lines)."""
    speech_end_at: float | None = None
    eou_ms: float | None = None
    stt_ms: float | None = None
    then_end: EndReason | None = None
    """End the call with this reason once the reply has been heard."""
    end_even_if_interrupted: bool = False


@dataclass(slots=True)
class _Preemption:
    """A reply whose model already runs while the end-of-turn delay does (preemptive
    generation); it is spoken only if the turn is taken with exactly this request."""

    text: str
    continues: Turn | None
    request: ModelRequest
    reply: AgentReply
    task: asyncio.Task[None]


@dataclass(slots=True)
class _Flags:
    silence_prompts: int = 0
    stt_reopens: int = 0
    hang_up_on_end: bool = True
    transfer_to: str | None = None
    failed: bool = False


class CallSession:
    """Runs one call on `transport`; `run()` returns the finished `Call`."""

    MAX_STT_REOPENS = 3

    def __init__(
        self, transport: CallTransport, ports: SessionPorts, config: SessionConfig
    ) -> None:
        self._transport = transport
        self._ports = ports
        self._config = config
        self._clock = ports.clock
        self._inputs: asyncio.Queue[Input] = asyncio.Queue()
        self._machine = ConversationStateMachine()
        self._history = DialogueHistory(config.system_prompt, config.history_token_budget)
        self._timers = Timers(self._inputs)
        self._caller = CallerTurn()
        self._overlap: Overlap | None = None
        self._active: ActiveReply | None = None
        self._preemption: _Preemption | None = None
        self._dropped: set[asyncio.Task[None]] = set()
        """Cancelled preemptive model streams, awaited at shutdown."""
        self._flags = _Flags()
        self._tools = tools_for(config.transfer_destination)
        self.call = Call(caller_number=transport.caller_number, started_at=self._clock.wall())
        self._recorder = CallRecorder(
            ports.repository,
            self.call.id,
            clock=ports.clock,
            retry=ports.storage_retry,
            max_events=config.max_stored_events,
        )
        self._line = CallerLine(
            transport,
            ports.stt,
            ports.vad,
            self._clock,
            self._inputs,
            keep_recent_audio=ports.turn_end is not None and ports.turn_end.needs_audio,
        )
        self._judge = TurnJudge(ports.turn_end, self._inputs, audio=self._line.recent_audio)

    @property
    def state(self) -> ConversationState:
        return self._machine.state

    @property
    def history(self) -> DialogueHistory:
        return self._history

    # -- lifecycle -------------------------------------------------------------------
    async def run(self) -> Call:
        """Run the call to its end. Whatever stops it, the call is ended, stored and
        published (`CallEnded`) before this returns: an unexpected error ends it as
        `internal_error` (failed, and returned normally); a cancellation ends it as
        `cancelled` and is then re-raised."""
        self._recorder.start()
        prepare: asyncio.Task[object] | None = None
        try:
            self._recorder.save_call(self.call)
            self._publish(CallStarted(self.call.id, self._epoch(), self.call.caller_number))
            rate = self._transport.output_sample_rate
            prepare = asyncio.create_task(
                self._ports.canned.prepare(self._config.prompts.apology, rate), name="apology"
            )
            await self._answer()
            while self.state is not S.ENDED:
                await self._handle(await self._inputs.get())
        except asyncio.CancelledError:
            self._flags.failed = True
            await self._abandon(EndReason.CANCELLED)
            raise
        except Exception:
            log.exception("call %s failed unexpectedly", self.call.id)
            self._flags.failed = True
            await self._abandon(EndReason.INTERNAL_ERROR)
        finally:
            await self._shutdown(prepare)
        return self.call

    def end_now(self, reason: EndReason) -> None:
        """Ask the session to end the call at once (e.g. `SERVER_SHUTDOWN`): the reply in
        progress stops, the line is hung up, the call is stored with `reason`."""
        self._inputs.put_nowait(EndRequested(reason))

    async def _answer(self) -> None:
        try:
            await self._line.start()
        except Exception as error:
            self._report_failure("stt", error)
            self._flags.failed = True
            self._say(self._config.prompts.apology, then_end=EndReason.ERROR, firm=True)
        else:
            self._timers.schedule(Timer.MAX_DURATION, self._config.max_call_duration_s)
            self._say(self._config.prompts.greeting)

    async def _abandon(self, reason: EndReason) -> None:
        """End the call after something went wrong: no courtesies, nothing that could fail
        in turn stops the call from being closed, stored and published."""
        self._timers.cancel_all()
        active, self._active = self._active, None
        if active is not None:
            active.task.cancel()
            await asyncio.gather(active.task, return_exceptions=True)
            self._report_reply_failures(active)
        if self.state is not S.ENDED:
            self._move_to(S.ENDED)
        if self.call.is_active:
            self._close_record(reason)
        if self._flags.hang_up_on_end:
            try:
                await self._transport.hang_up()
            except Exception:
                log.exception("could not hang up call %s", self.call.id)

    async def _shutdown(self, prepare: asyncio.Task[object] | None) -> None:
        self._timers.cancel_all()
        await self._judge.close()
        self._drop_preemption()
        await asyncio.gather(*self._dropped, return_exceptions=True)
        if self._active is not None:
            self._active.task.cancel()
            await asyncio.gather(self._active.task, return_exceptions=True)
        if prepare is not None:
            prepare.cancel()
            await asyncio.gather(prepare, return_exceptions=True)
        try:
            await self._line.stop()
        finally:
            await self._recorder.close()

    # -- dispatch --------------------------------------------------------------------
    async def _handle(self, item: Input) -> None:
        match item:
            case VoiceStartedAt():
                self._on_voice_started(item)
            case VoiceEndedAt():
                self._on_voice_ended(item)
            case SttInput():
                await self._on_transcript(item.event, item.at)
            case ReplyAudioStarted():
                if self._active is not None and self._active.reply is item.reply:
                    self._move_to(S.SPEAKING)
            case ReplyFinished():
                if self._active is not None and self._active.reply is item.reply:
                    await self._on_reply_finished(item.error)
            case TurnJudged():
                if self._judge.record(item):
                    self._consider_end_of_turn()
            case TimerFired():
                if self._timers.is_current(item):
                    await self._on_timer(item.timer)
            case CallerHungUp():
                await self._on_caller_hung_up()
            case Dtmf():
                self._record_event(DtmfReceived(self.call.id, self._epoch(), item.digit))
            case SttFailed():
                await self._on_stt_failed(item.error)
            case EndRequested():
                await self._end(item.reason)

    # -- the caller's voice ----------------------------------------------------------
    def _on_voice_started(self, item: VoiceStartedAt) -> None:
        self._timers.cancel(Timer.SILENCE)
        self._timers.cancel(Timer.END_OF_TURN)
        self._drop_preemption()  # the caller goes on: the answer would be to half a turn
        if self._active is not None and self.state in (S.THINKING, S.SPEAKING):
            if self._overlap is None:
                self._overlap = Overlap(started_at=item.at, started_wall=self._clock.wall())
            self._overlap.voice_ended_at = None
            self._timers.cancel(Timer.OVERLAP_FINAL)
            self._timers.schedule(
                Timer.OVERLAP_LONG, self._config.interruption.max_unconfirmed_speech_s
            )
            return
        if self._caller.started_at is None:
            self._caller.started_at = self._clock.wall()
        self._caller.speech_end_at = None
        self._caller.speech.ends_on_pause = False

    def _on_voice_ended(self, item: VoiceEndedAt) -> None:
        if self._overlap is not None:
            self._overlap.voice_ended_at = item.speech_end_at
            self._timers.cancel(Timer.OVERLAP_LONG)
            self._timers.schedule(Timer.OVERLAP_FINAL, self._config.final_transcript_grace_s)
            return
        if self._caller.started_at is None:
            return  # voice ended that began as an overlap already dismissed
        self._caller.speech_end_at = item.speech_end_at
        self._consider_end_of_turn()

    async def _on_transcript(self, event: SttEvent, at: float) -> None:
        if self._overlap is not None:
            await self._on_overlap_transcript(event, at)
            return
        speech = self._caller.speech
        if isinstance(event, InterimTranscript):
            speech.add_interim(event.text)
        elif isinstance(event, FinalTranscript):
            speech.add_final(event.text, at, speech_final=event.speech_final)
            if (
                event.speech_final
                and self._caller.speech_end_at is None
                and not self._line.voice_active
            ):
                self._caller.speech_end_at = at  # the recognizer's endpointing saw the pause
        elif (
            isinstance(event, UtteranceEnded)
            and self._caller.speech_end_at is None
            and not self._line.voice_active
            and self._caller.has_words
        ):
            self._caller.speech_end_at = at
        if self._caller.has_words and self._caller.started_at is None:
            self._caller.started_at = self._clock.wall()
        self._consider_end_of_turn()

    # -- end of turn -----------------------------------------------------------------
    def _consider_end_of_turn(self) -> None:
        """(Re)schedule taking the caller's turn, or do nothing if it is not time yet."""
        caller = self._caller
        self._consider_preemption()
        if (
            self.state is not S.LISTENING
            or self._line.voice_active
            or caller.speech_end_at is None
            or not caller.has_words
        ):
            self._timers.cancel(Timer.END_OF_TURN)
            return
        policy = self._config.end_of_turn
        finished = self._judge.finished(caller.speech.text)
        # Until the detector answers, the turn counts as unfinished: a slow or hung detector
        # costs the long delay, never an answer to half a sentence.
        due = caller.speech_end_at + policy.delay(finished=bool(finished))
        if caller.speech.interim_pending or not caller.speech.finals:
            # Wait for the final transcript, but not forever: then go with the interim.
            due = max(due, caller.speech_end_at + self._config.final_transcript_grace_s)
        self._timers.schedule(Timer.END_OF_TURN, due - self._clock.now())

    def _consider_preemption(self) -> None:
        """Keep a preemptive reply running only on the caller's final words after a pause:
        the recognizer's final marked as ending the speech, or voice no longer heard."""
        caller = self._caller
        speech = caller.speech
        if (
            self._config.preemptive_generation
            and self.state is S.LISTENING
            and caller.has_words
            and speech.finals
            and not speech.interim_pending
            and (speech.ends_on_pause or not self._line.voice_active)
        ):
            self._preempt(caller)
        else:
            self._drop_preemption()

    def _preempt(self, caller: CallerTurn) -> None:
        """Start the model on the final transcript while the end-of-turn delay runs (once
        per text: a new verdict or timer for the same words keeps the running stream)."""
        text = caller.speech.text
        current = self._preemption
        if current is not None:
            if current.text == text and current.continues is caller.continues:
                return
            self._drop_preemption()
        # The request `_take_turn` would make, without touching the stored history yet.
        history = copy.deepcopy(self._history)
        if caller.continues is not None:
            history.extend_last_user(text)
        else:
            history.add_user(text)
        request = ModelRequest(history.for_model(), self._tools)
        reply = self._new_reply(request)
        self._preemption = _Preemption(text, caller.continues, request, reply, reply.start_text())

    def _drop_preemption(self) -> None:
        """Cancel the preemptive model stream, if any: nothing of it is spoken or stored."""
        preemption, self._preemption = self._preemption, None
        if preemption is None:
            return
        preemption.task.cancel()
        self._dropped.add(preemption.task)
        preemption.task.add_done_callback(self._dropped.discard)

    def _take_preemption(self, request: ModelRequest) -> AgentReply | None:
        """The preemptive reply if it was asked exactly `request`; otherwise it is dropped."""
        preemption = self._preemption
        if preemption is not None and preemption.request == request:
            self._preemption = None
            return preemption.reply
        self._drop_preemption()
        return None

    def _take_turn(self) -> None:
        caller = self._caller
        assert caller.speech_end_at is not None
        text = caller.speech.text
        now = self._clock.now()
        if caller.continues is not None:
            turn = caller.continues
            turn.text = turn.heard_text = f"{turn.text} {text}".strip()
            self._history.extend_last_user(text)
        else:
            turn = Turn(
                role=Role.CALLER,
                text=text,
                index=self.call.next_turn_index(),
                started_at=caller.started_at or self._clock.wall(),
            )
            self.call.turns.append(turn)
            self._history.add_user(text)
        turn.ended_at = self._clock.wall()
        last_final = caller.speech.last_final_at
        stt_ms = None if last_final is None else max(0.0, last_final - caller.speech_end_at) * 1000
        speech_end_at = caller.speech_end_at
        self._caller = CallerTurn()
        self._judge.reset()
        request = ModelRequest(self._history.for_model(), self._tools)
        preempted = self._take_preemption(request)
        self._complete_turn(turn)
        self._move_to(S.THINKING)
        active = self._start_reply(request, answers=turn, reply=preempted)
        active.speech_end_at = speech_end_at
        active.eou_ms = (now - speech_end_at) * 1000
        active.stt_ms = stt_ms
        if is_goodbye(text):
            active.then_end = EndReason.GOODBYE

    # -- replies ---------------------------------------------------------------------
    def _start_reply(
        self,
        source: ModelRequest | Sequence[str],
        *,
        answers: Turn | None = None,
        reply: AgentReply | None = None,
    ) -> ActiveReply:
        """Speak `reply` (one already started preemptively) or a new one from `source`."""
        if reply is None:
            reply = self._new_reply(source)
        task = asyncio.create_task(self._run_reply(reply), name="agent-reply")
        self._active = ActiveReply(
            reply=reply, task=task, started_wall=self._clock.wall(), answers=answers
        )
        return self._active

    def _new_reply(self, source: ModelRequest | Sequence[str]) -> AgentReply:
        prompts = self._config.prompts
        reply = AgentReply(
            source,
            llm=self._ports.llm,
            tts=self._ports.tts,
            transport=self._transport,
            clock=self._clock,
            canned=self._ports.canned,
            apology=prompts.apology,
            rules=self._config.phrases,
            closing_line=self._closing_line,
            on_first_audio=lambda: self._inputs.put_nowait(ReplyAudioStarted(reply)),
        )
        return reply

    async def _run_reply(self, reply: AgentReply) -> None:
        try:
            await reply.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("reply crashed")
            self._inputs.put_nowait(ReplyFinished(reply, error))
        else:
            self._inputs.put_nowait(ReplyFinished(reply, None))

    def _say(self, text: str, *, then_end: EndReason | None = None, firm: bool = False) -> None:
        """Speak a canned line (no model). `firm`: end the call even if interrupted."""
        if self.state is S.LISTENING:
            self._move_to(S.SPEAKING)
        active = self._start_reply([text])
        active.then_end = then_end
        active.end_even_if_interrupted = firm

    def _closing_line(self, calls: Sequence[ToolCall]) -> str | None:
        names = {c.name for c in calls}
        if "transfer_call" in names:
            return self._config.prompts.transferring
        if "end_call" in names:
            return self._config.prompts.farewell
        return None

    async def _on_reply_finished(self, error: BaseException | None) -> None:
        active = self._active
        assert active is not None
        self._active = None
        output = active.reply.output
        self._report_reply_failures(active)
        if error is not None:
            self._report_failure("reply", error)
        self._record_agent_turn(active, heard=output.text, interrupted=False)
        self._move_to(S.LISTENING)
        for call in output.tool_calls:
            self._record_event(
                ToolCalled(self.call.id, self._epoch(), call.name, dict(call.arguments))
            )
        if await self._act_on_tools(output.tool_calls):
            return
        if active.then_end is not None:
            await self._end(active.then_end)
            return
        if self._overlap is not None:  # caller speech that began during the reply goes on
            self._promote_overlap()
        self._arm_silence_timer()

    async def _act_on_tools(self, calls: Sequence[ToolCall]) -> bool:
        names = [c.name for c in calls]
        destination = self._config.transfer_destination
        if "transfer_call" in names and destination:
            try:
                await self._transport.transfer(destination)
            except Exception as error:
                self._report_failure("transfer", error)
                self._say(self._config.prompts.transfer_failed)
                return True
            self._flags.hang_up_on_end = False
            await self._end(EndReason.TRANSFERRED)
            return True
        if "end_call" in names:
            await self._end(EndReason.AGENT_ENDED)
            return True
        return False

    async def _barge_in(self) -> None:
        """The caller took the floor: stop talking now and keep only what was heard."""
        active = self._active
        assert active is not None
        overlap = self._overlap
        await self._stop_reply(active)
        self._publish_interruption(active)
        self._move_to(S.LISTENING)
        if overlap is not None:
            self._promote_overlap()
        if active.end_even_if_interrupted and active.then_end is not None:
            await self._end(active.then_end)

    async def _stop_reply(self, active: ActiveReply) -> str:
        """Cancel the reply, drop its queued audio, store what the caller heard of it."""
        self._active = None
        active.task.cancel()
        await asyncio.gather(active.task, return_exceptions=True)
        await self._transport.clear_audio()
        output = active.reply.output
        heard = output.heard(self._transport.played_seconds)
        self._report_reply_failures(active)
        if output.playout_origin is None and active.answers is not None:
            # Nothing was heard: the caller simply went on with the same turn.
            self._caller.continues = active.answers
        else:
            self._record_agent_turn(active, heard=heard, interrupted=True)
        return heard

    def _publish_interruption(self, active: ActiveReply) -> None:
        origin = active.reply.output.playout_origin
        heard_s = 0.0 if origin is None else self._transport.played_seconds - origin
        self._record_event(CallerInterrupted(self.call.id, self._epoch(), heard_s))

    def _record_agent_turn(self, active: ActiveReply, *, heard: str, interrupted: bool) -> None:
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
        self._history.add_assistant(heard)
        self._complete_turn(turn)

    # -- overlapping speech (possible barge-in) --------------------------------------
    async def _on_overlap_transcript(self, event: SttEvent, at: float) -> None:
        overlap = self._overlap
        assert overlap is not None
        if isinstance(event, InterimTranscript):
            overlap.speech.add_interim(event.text)
        elif isinstance(event, FinalTranscript):
            overlap.speech.add_final(event.text, at)
        policy = self._config.interruption
        if policy.confirmed_by_words(overlap.speech.text):
            await self._interrupt_if_still_talking()
        elif (
            overlap.voice_ended_at is not None
            and not overlap.speech.interim_pending
            and (isinstance(event, FinalTranscript | UtteranceEnded))
        ):
            self._dismiss_overlap()

    async def _interrupt_if_still_talking(self) -> None:
        if self._active is not None:
            await self._barge_in()
        else:
            self._promote_overlap()

    def _dismiss_overlap(self) -> None:
        overlap = self._overlap
        assert overlap is not None
        self._overlap = None
        self._timers.cancel(Timer.OVERLAP_LONG)
        self._timers.cancel(Timer.OVERLAP_FINAL)
        self._record_event(
            FalseInterruptionIgnored(self.call.id, self._epoch(), overlap.speech.text)
        )
        if self._active is None:
            self._arm_silence_timer()

    def _promote_overlap(self) -> None:
        """Overlapping speech that turned out real becomes the caller's turn in progress."""
        overlap = self._overlap
        assert overlap is not None
        self._overlap = None
        self._timers.cancel(Timer.OVERLAP_LONG)
        self._timers.cancel(Timer.OVERLAP_FINAL)
        self._caller.speech = overlap.speech
        self._caller.started_at = overlap.started_wall
        self._caller.speech_end_at = overlap.voice_ended_at
        self._consider_end_of_turn()

    # -- timers ----------------------------------------------------------------------
    async def _on_timer(self, name: Timer) -> None:
        if name == Timer.END_OF_TURN:
            if (
                self.state is S.LISTENING
                and self._caller.has_words
                and not (self._line.voice_active)
            ):
                self._take_turn()
        elif name == Timer.SILENCE:
            await self._on_silence()
        elif name == Timer.MAX_DURATION:
            if self._active is not None:
                await self._stop_reply(self._active)
                self._move_to(S.LISTENING)
            self._say(self._config.prompts.time_limit, then_end=EndReason.MAX_DURATION, firm=True)
        elif name == Timer.OVERLAP_LONG:
            overlap = self._overlap
            if overlap is not None and self._config.interruption.confirmed_by_duration(
                self._clock.now() - overlap.started_at, overlap.speech.text
            ):
                await self._interrupt_if_still_talking()
        elif name == Timer.OVERLAP_FINAL and self._overlap is not None:
            if self._config.interruption.confirmed_by_words(self._overlap.speech.text):
                await self._interrupt_if_still_talking()
            else:
                self._dismiss_overlap()

    def _arm_silence_timer(self) -> None:
        if self.state is S.LISTENING and not self._line.voice_active:
            self._timers.schedule(Timer.SILENCE, self._config.silence_timeout_s)

    async def _on_silence(self) -> None:
        if self.state is not S.LISTENING or self._line.voice_active or self._caller.has_words:
            return
        self._flags.silence_prompts += 1
        if self._flags.silence_prompts == 1:
            self._say(self._config.prompts.still_there)
        else:
            self._say(self._config.prompts.silence_goodbye, then_end=EndReason.SILENCE_TIMEOUT)

    # -- the line --------------------------------------------------------------------
    async def _on_caller_hung_up(self) -> None:
        self._flags.hang_up_on_end = False
        if self._active is not None:
            await self._stop_reply(self._active)
        if self._caller.has_words:
            speech = self._caller.speech
            turn = Turn(
                role=Role.CALLER,
                text=speech.text,
                index=self.call.next_turn_index(),
                started_at=self._caller.started_at or self._clock.wall(),
                ended_at=self._clock.wall(),
            )
            self.call.turns.append(turn)
            self._complete_turn(turn)
        await self._end(EndReason.CALLER_HUNG_UP)

    async def _on_stt_failed(self, error: Exception) -> None:
        self._report_failure("stt", error)
        if self._flags.stt_reopens < self.MAX_STT_REOPENS:
            self._flags.stt_reopens += 1
            try:
                await self._line.reopen_recognizer()
                return
            except Exception as reopen_error:
                self._report_failure("stt", reopen_error)
        self._flags.failed = True
        if self._active is not None:
            await self._stop_reply(self._active)
            self._move_to(S.LISTENING)
        self._say(self._config.prompts.apology, then_end=EndReason.ERROR, firm=True)

    async def _end(self, reason: EndReason) -> None:
        if self.state is S.ENDED:
            return
        self._timers.cancel_all()
        try:
            if self._active is not None:
                await self._stop_reply(self._active)
        finally:
            self._move_to(S.ENDED)
            self._close_record(reason)
        if self._flags.hang_up_on_end:
            await self._transport.hang_up()

    def _close_record(self, reason: EndReason) -> None:
        """End the call: stored (queued for the recorder) and published to the sinks."""
        self.call.end(reason, self._clock.wall(), failed=self._flags.failed)
        self._recorder.save_call(self.call)
        self._publish(CallEnded(self.call.id, self._epoch(), self.call.status, reason))

    # -- bookkeeping -----------------------------------------------------------------
    def _complete_turn(self, turn: Turn) -> None:
        self._recorder.save_turn(turn)
        self._publish(TurnCompleted(self.call.id, self._epoch(), copy.copy(turn)))

    def _move_to(self, target: ConversationState) -> None:
        previous = self.state
        if previous is target:
            return
        if previous is S.LISTENING:
            self._drop_preemption()  # a preemptive reply is only ever taken while listening
        self._machine.move_to(target)
        self._publish(StateChanged(self.call.id, self._epoch(), previous, target))

    def _report_reply_failures(self, active: ActiveReply) -> None:
        for failure in active.reply.output.failures:
            self._report_failure(failure.stage, failure.error)
        active.reply.output.failures.clear()

    def _report_failure(self, stage: str, error: BaseException) -> None:
        provider = str(getattr(error, "provider", "unknown"))
        self._record_event(ProviderFailed(self.call.id, self._epoch(), stage, str(error), provider))

    def _record_event(
        self,
        event: ProviderFailed
        | DtmfReceived
        | CallerInterrupted
        | FalseInterruptionIgnored
        | ToolCalled,
    ) -> None:
        self._recorder.record_event(event)
        self._publish(event)

    def _publish(self, event: DomainEvent) -> None:
        for sink in self._ports.sinks:
            try:
                sink(event)
            except Exception:
                log.exception("event sink failed")

    def _epoch(self) -> float:
        return self._clock.wall().timestamp()


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 3)
