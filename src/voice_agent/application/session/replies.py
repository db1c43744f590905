"""The agent's side of the floor: the reply being spoken, and the one the model may already
be writing while the end-of-turn delay runs (preemptive generation)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import LanguageModel
from voice_agent.application.ports.transport import CallTransport
from voice_agent.application.ports.tts import TextToSpeech
from voice_agent.application.session.caller_turn import CallerTurn
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.session.inputs import Input, ReplyAudioStarted, ReplyFinished
from voice_agent.application.session.reply import AgentReply, ClosingLine, ModelRequest
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import EndReason
from voice_agent.domain.turn import Turn

log = logging.getLogger(__name__)

ReportFailure = Callable[[str, BaseException], None]


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

    def measure(self, caller: CallerTurn, now: float) -> None:
        """Keep the latencies of the caller turn this reply answers, taken at `now`."""
        speech_end_at = caller.speech_end_at
        assert speech_end_at is not None
        last_final = caller.speech.last_final_at
        self.speech_end_at = speech_end_at
        self.eou_ms = (now - speech_end_at) * 1000
        self.stt_ms = None if last_final is None else max(0.0, last_final - speech_end_at) * 1000


@dataclass(frozen=True, slots=True)
class StoppedReply:
    active: ActiveReply
    heard: str
    """What the caller heard of it."""

    @property
    def heard_anything(self) -> bool:
        return self.active.reply.output.playout_origin is not None


@dataclass(slots=True)
class _Preemption:
    """A reply whose model already runs while the end-of-turn delay does; it is spoken only
    if the turn is taken with exactly this request."""

    text: str
    continues: Turn | None
    request: ModelRequest
    reply: AgentReply
    task: asyncio.Task[None]


class Replies:
    """Starts, stops and finishes the call's replies; at most one speaks at a time.

    A reply runs in its own task and reports back through the session queue: its first
    audio (`ReplyAudioStarted`) and its end (`ReplyFinished`). Stage failures a reply
    recovered from (the apology instead of silence) are handed to `report_failure`.
    """

    def __init__(
        self,
        transport: CallTransport,
        *,
        llm: LanguageModel,
        tts: TextToSpeech,
        canned: CannedSpeech,
        clock: Clock,
        config: SessionConfig,
        inputs: asyncio.Queue[Input],
        closing_line: ClosingLine,
        report_failure: ReportFailure,
        audio_out: Callable[[AudioChunk], None] = lambda chunk: None,
    ) -> None:
        self._transport = transport
        self._audio_out = audio_out
        self._llm = llm
        self._tts = tts
        self._canned = canned
        self._clock = clock
        self._config = config
        self._inputs = inputs
        self._closing_line = closing_line
        self._report_failure = report_failure
        self.active: ActiveReply | None = None
        self._preemption: _Preemption | None = None
        self._dropped: set[asyncio.Task[None]] = set()
        """Cancelled preemptive model streams, awaited at shutdown."""

    def start(
        self,
        source: ModelRequest | Sequence[str],
        *,
        answers: Turn | None = None,
        reply: AgentReply | None = None,
    ) -> ActiveReply:
        """Speak `reply` (one already started preemptively) or a new one from `source`."""
        if reply is None:
            reply = self._new_reply(source)
        task = asyncio.create_task(self._run(reply), name="agent-reply")
        self.active = ActiveReply(
            reply=reply, task=task, started_wall=self._clock.wall(), answers=answers
        )
        return self.active

    def is_current(self, reply: AgentReply) -> bool:
        return self.active is not None and self.active.reply is reply

    def finished(self) -> ActiveReply:
        """The current reply ended by itself: it is no longer the current one."""
        active, self.active = self.active, None
        assert active is not None
        self._report_stage_failures(active)
        return active

    async def stop(self) -> StoppedReply | None:
        """Cancel the current reply, drop its queued audio; None when none speaks."""
        active, self.active = self.active, None
        if active is None:
            return None
        active.task.cancel()
        await asyncio.gather(active.task, return_exceptions=True)
        await self._transport.clear_audio()
        heard = active.reply.output.heard(self._transport.played_seconds)
        self._report_stage_failures(active)
        return StoppedReply(active, heard)

    async def abandon(self) -> None:
        """Cancel the current reply without touching the line (it may be what broke)."""
        active, self.active = self.active, None
        if active is not None:
            active.task.cancel()
            await asyncio.gather(active.task, return_exceptions=True)
            self._report_stage_failures(active)

    def heard_seconds(self, active: ActiveReply) -> float:
        origin = active.reply.output.playout_origin
        return 0.0 if origin is None else self._transport.played_seconds - origin

    async def close(self) -> None:
        """At the end of the call: cancel whatever still runs and wait for it."""
        self.drop_preemption()
        await asyncio.gather(*self._dropped, return_exceptions=True)
        if self.active is not None:
            self.active.task.cancel()
            await asyncio.gather(self.active.task, return_exceptions=True)

    # -- preemptive generation -------------------------------------------------------
    def preempt(
        self, text: str, continues: Turn | None, request: Callable[[], ModelRequest]
    ) -> None:
        """Start the model on the caller's `text` while the end-of-turn delay runs (once per
        text: a new verdict or timer for the same words keeps the running stream).
        `request`: the request taking the turn would make."""
        current = self._preemption
        if current is not None:
            if current.text == text and current.continues is continues:
                return
            self.drop_preemption()
        made = request()
        reply = self._new_reply(made)
        self._preemption = _Preemption(text, continues, made, reply, reply.start_text())

    def drop_preemption(self) -> None:
        """Cancel the preemptive model stream, if any: nothing of it is spoken or stored."""
        preemption, self._preemption = self._preemption, None
        if preemption is None:
            return
        preemption.task.cancel()
        self._dropped.add(preemption.task)
        preemption.task.add_done_callback(self._dropped.discard)

    def take_preemption(self, request: ModelRequest) -> AgentReply | None:
        """The preemptive reply if it was asked exactly `request`; otherwise it is dropped."""
        preemption = self._preemption
        if preemption is not None and preemption.request == request:
            self._preemption = None
            return preemption.reply
        self.drop_preemption()
        return None

    # -- one reply -------------------------------------------------------------------
    def _new_reply(self, source: ModelRequest | Sequence[str]) -> AgentReply:
        reply = AgentReply(
            source,
            llm=self._llm,
            tts=self._tts,
            transport=self._transport,
            clock=self._clock,
            canned=self._canned,
            apology=self._config.prompts.apology,
            rules=self._config.phrases,
            closing_line=self._closing_line,
            on_first_audio=lambda: self._inputs.put_nowait(ReplyAudioStarted(reply)),
            audio_out=self._audio_out,
        )
        return reply

    async def _run(self, reply: AgentReply) -> None:
        try:
            await reply.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("reply crashed")
            self._inputs.put_nowait(ReplyFinished(reply, error))
        else:
            self._inputs.put_nowait(ReplyFinished(reply, None))

    def _report_stage_failures(self, active: ActiveReply) -> None:
        for failure in active.reply.output.failures:
            self._report_failure(failure.stage, failure.error)
        active.reply.output.failures.clear()
