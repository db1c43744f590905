"""The web phone's server side: one call per WebSocket connection, on the process's stack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from voice_agent.adapters.observability.logging import CallLogContext
from voice_agent.adapters.web.limits import WebPhoneLimits
from voice_agent.adapters.web.transport import (
    SAMPLE_RATE,
    PhoneSocket,
    ProtocolError,
    WebSocketCallTransport,
)
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.session.call_session import CallSession, SessionPorts
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, EndReason

log = logging.getLogger(__name__)


async def _nothing_to_finish(call: Call) -> None:
    return None


@dataclass(frozen=True, slots=True)
class CallPorts:
    """One call's ports, and what to do once the call has ended (e.g. store its usage)."""

    ports: SessionPorts
    finish: Callable[[Call], Awaitable[None]] = _nothing_to_finish


PortsFactory = Callable[[Sequence[EventSink]], CallPorts]
"""Builds one call's ports, given the event sinks the call must publish to."""


@dataclass
class WebPhone:
    """Answers web phone connections: at most `max_calls` at once (the next caller hears a
    busy signal: an error message and a closed socket), each a full `CallSession`. At most
    `max_pending` connections may wait for their `start`, each for `start_timeout_s`."""

    ports: PortsFactory
    config: SessionConfig
    stack: str
    max_calls: int = 2
    sinks: Sequence[EventSink] = ()
    active: set[str] = field(default_factory=set)
    max_pending: int = 8
    start_timeout_s: float = 5.0
    limits: WebPhoneLimits = field(default_factory=WebPhoneLimits)
    pending: int = 0
    """Connections accepted that have not sent `start` yet."""
    sessions: dict[str, CallSession] = field(default_factory=dict)
    """Calls in progress, until each is ended, stored and finished (usage included)."""
    closing: bool = False
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._idle.set()

    async def handle(self, socket: PhoneSocket) -> Call | None:
        transport = WebSocketCallTransport(socket, limits=self.limits)
        if self.pending >= self.max_pending:
            transport.open()
            transport.send(
                {"type": "error", "message": f"busy: {self.max_pending} connections waiting"}
            )
            await transport.aclose(reason="busy")
            return None
        self.pending += 1
        try:
            await transport.answer(timeout_s=self.start_timeout_s)
        except (ProtocolError, TimeoutError, ConnectionError) as error:
            if isinstance(error, TimeoutError):
                error = TimeoutError(f"no start within {self.start_timeout_s:g} s")
                transport.send({"type": "error", "message": str(error)})
            log.info("web phone connection refused: %s", error)
            await transport.aclose()
            return None
        except asyncio.CancelledError:
            await transport.aclose()
            raise
        finally:
            self.pending -= 1
        if self.closing:
            transport.send({"type": "error", "message": "the server is shutting down"})
            await transport.aclose(reason=EndReason.SERVER_SHUTDOWN.value)
            return None
        if len(self.active) >= self.max_calls:
            transport.send(
                {"type": "error", "message": f"busy: {self.max_calls} calls already in progress"}
            )
            await transport.aclose(reason="busy")
            return None
        sinks: list[EventSink] = [transport.notify, CallLogContext(), *self.sinks]
        try:
            opened = self.ports(sinks)
            session = CallSession(transport, opened.ports, self.config)
        except Exception:
            log.exception("could not set up a web phone call")
            transport.send({"type": "error", "message": "the call could not be set up"})
            await transport.aclose(reason=EndReason.INTERNAL_ERROR.value)
            return None
        return await self._run(session, transport, opened)

    async def _run(
        self, session: CallSession, transport: WebSocketCallTransport, opened: CallPorts
    ) -> Call:
        """Run the call; whatever ends it (cancellation included), the client is told why,
        the socket closed and the call finished (its usage stored) before the call leaves
        `sessions`."""
        call_id = session.call.id
        transport.on_limit_broken = lambda _limit: session.end_now(EndReason.CLIENT_LIMIT)
        self.active.add(call_id)
        self.sessions[call_id] = session
        self._idle.clear()
        try:
            transport.send(
                {
                    "type": "ready",
                    "call_id": call_id,
                    "sample_rate": SAMPLE_RATE,
                    "stack": self.stack,
                }
            )
            try:
                return await session.run()
            finally:
                await self._finish(session.call, transport, opened)
        finally:
            self.active.discard(call_id)
            self.sessions.pop(call_id, None)
            if not self.sessions:
                self._idle.set()

    async def _finish(
        self, call: Call, transport: WebSocketCallTransport, opened: CallPorts
    ) -> None:
        reason = call.end_reason.value if call.end_reason else "ended"
        try:
            await transport.aclose(reason=reason)
        except Exception:
            log.exception("could not close the web phone socket of call %s", call.id)
        try:
            await opened.finish(call)
        except Exception:
            log.exception("could not finish call %s", call.id)

    def end_calls(self) -> None:
        """Take no more calls and end every call in progress as `server_shutdown` (the
        callers hear nothing more). Returns at once; `shutdown` also waits."""
        self.closing = True
        for session in list(self.sessions.values()):
            session.end_now(EndReason.SERVER_SHUTDOWN)

    async def shutdown(self, grace_s: float) -> None:
        """`end_calls`, then wait until each is stored and finished, at most `grace_s`."""
        self.end_calls()
        try:
            async with asyncio.timeout(grace_s):
                await self._idle.wait()
        except TimeoutError:
            log.warning(
                "%d web phone call(s) not finished within the %.1f s shutdown grace",
                len(self.sessions),
                grace_s,
            )
