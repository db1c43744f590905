"""`CallRunner`: everything around one call that is not the conversation, whatever the line.

For each line a transport brings (a web phone socket, a SIP participant, a recorded caller),
the runner decides whether to take it (capacity, shutdown), answers it, builds the call's
ports and session, runs the call, and whatever ends it (the caller, the agent, an error, a
cancellation, a shutdown) closes the line with the reason and runs the call's finish hook
(usage and cost) before the call leaves `sessions`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.transport import NOT_ANSWERED, CallTransport, LineNotAnswered
from voice_agent.application.session.answer import LineMilestones
from voice_agent.application.session.call_session import CallSession, SessionPorts
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, EndReason

log = logging.getLogger(__name__)
BUSY = "busy"
"""The reason a line is closed with when the runner refuses it for capacity."""


async def _nothing_to_finish(call: Call) -> None:
    return None


@dataclass(frozen=True, slots=True)
class CallPorts:
    """One call's ports, and what to do once the call has ended (e.g. store its usage)."""

    ports: SessionPorts
    finish: Callable[[Call], Awaitable[None]] = _nothing_to_finish


CallPortsFactory = Callable[[Sequence[EventSink]], Awaitable[CallPorts]]
"""Builds one call's ports, given the event sinks the call must publish to."""

Started = Callable[[CallSession], None]
"""Told once a call's session exists, before it runs (e.g. to send the caller its id)."""


class CallRunner:
    """Runs calls: at most `max_calls` at once, at most `max_answering` lines being answered
    (a web client that never sends `start`, a SIP line still ringing) at once.

    `end_calls` ends every call in progress (`server_shutdown`) and refuses new ones;
    `shutdown` also waits until each is closed, stored and finished.
    """

    def __init__(
        self,
        ports: CallPortsFactory,
        config: SessionConfig,
        *,
        max_calls: int = 2,
        max_answering: int = 8,
        clock: Clock | None = None,
    ) -> None:
        """`clock`: what the lines' milestones (offered, joined) are noted on; it must be the
        calls' own clock (`SessionPorts.clock`); by default the event loop's time, which is
        what `LoopClock` gives."""
        self._ports = ports
        self._now: Callable[[], float] = (
            clock.now if clock is not None else lambda: asyncio.get_running_loop().time()
        )
        self.config = config
        self.max_calls = max_calls
        self.max_answering = max_answering
        self.answering = 0
        self.sessions: dict[str, CallSession] = {}
        self.closing = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(
        self,
        transport: CallTransport,
        sinks: Sequence[EventSink] = (),
        *,
        started: Started | None = None,
        offered_at: float | None = None,
    ) -> Call | None:
        """Take the line, run its call to the end and return it; None when the line was
        refused (busy, shutting down), never answered, or the call could not be set up (the
        caller is told which, and the line closed, in each case).

        `offered_at` (on the runner's clock): when the line was offered, e.g. the moment a
        LiveKit job was assigned; by default, the moment `transport.open()` returns (a web
        phone's line is offered and joined by the client's `start`)."""
        if self.answering >= self.max_answering:
            await transport.close(BUSY, f"busy: {self.max_answering} connections waiting")
            return None
        self.answering += 1
        try:
            await transport.open()
        except LineNotAnswered as error:
            log.info("line not answered: %s", error)
            await transport.close(NOT_ANSWERED)
            return None
        except asyncio.CancelledError:
            await transport.close(EndReason.CANCELLED.value)
            raise
        except Exception:
            log.exception("could not answer a line")
            await transport.close(NOT_ANSWERED)
            return None
        finally:
            self.answering -= 1
        joined_at = self._now()
        line = LineMilestones(
            offered_at=joined_at if offered_at is None else offered_at, joined_at=joined_at
        )
        refusal = self._refusal()
        if refusal is not None:
            await transport.close(*refusal)
            return None
        try:
            opened = await self._ports(sinks)
            session = CallSession(transport, opened.ports, self.config, line=line)
        except Exception:
            log.exception("could not set up a call")
            await transport.close(EndReason.INTERNAL_ERROR.value, "the call could not be set up")
            return None
        return await self._run(session, transport, opened, started)

    def _refusal(self) -> tuple[str, str] | None:
        if self.closing:
            return EndReason.SERVER_SHUTDOWN.value, "the server is shutting down"
        if len(self.sessions) >= self.max_calls:
            return BUSY, f"busy: {self.max_calls} calls already in progress"
        return None

    async def _run(
        self,
        session: CallSession,
        transport: CallTransport,
        opened: CallPorts,
        started: Started | None,
    ) -> Call:
        call_id = session.call.id
        self.sessions[call_id] = session
        self._idle.clear()
        try:
            if started is not None:
                started(session)
            try:
                return await session.run()
            finally:
                await self._finish(session.call, transport, opened)
        finally:
            self.sessions.pop(call_id, None)
            if not self.sessions:
                self._idle.set()

    @staticmethod
    async def _finish(call: Call, transport: CallTransport, opened: CallPorts) -> None:
        reason = call.end_reason.value if call.end_reason else "ended"
        try:
            await transport.close(reason)
        except Exception:
            log.exception("could not close the line of call %s", call.id)
        try:
            await opened.finish(call)
        except Exception:
            log.exception("could not finish call %s", call.id)

    def end_calls(self, *, goodbye: bool = False) -> None:
        """Take no more calls and end every call in progress as `server_shutdown`: at once
        (the callers hear nothing more), or with `goodbye` once each caller has heard the
        shutdown goodbye (calling this again without it then ends them at once). Returns
        at once; `shutdown` also waits."""
        self.closing = True
        for session in list(self.sessions.values()):
            session.end_now(EndReason.SERVER_SHUTDOWN, goodbye=goodbye)

    async def shutdown(self, grace_s: float) -> None:
        """`end_calls`, then wait until each is stored and finished, at most `grace_s`."""
        self.end_calls()
        try:
            async with asyncio.timeout(grace_s):
                await self._idle.wait()
        except TimeoutError:
            log.warning(
                "%d call(s) not finished within the %.1f s shutdown grace",
                len(self.sessions),
                grace_s,
            )
