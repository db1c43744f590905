"""The web phone's server side: one call per WebSocket connection, on the process's stack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from voice_agent.adapters.observability.logging import CallLogContext
from voice_agent.adapters.web.limits import WebPhoneLimits
from voice_agent.adapters.web.transport import SAMPLE_RATE, PhoneSocket, WebSocketCallTransport
from voice_agent.application.call_runner import CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.session.call_session import CallSession
from voice_agent.domain.call import Call, EndReason


@dataclass
class WebPhone:
    """Answers web phone connections: each socket is a line the process's `CallRunner`
    answers (it waits for the client's `start`), runs and closes; the runner's limits on
    calls and on lines being answered apply to the web phone like to any other line."""

    runner: CallRunner
    stack: str
    limits: WebPhoneLimits = field(default_factory=WebPhoneLimits)
    start_timeout_s: float = 5.0
    sinks: Sequence[EventSink] = ()

    async def handle(self, socket: PhoneSocket) -> Call | None:
        transport = WebSocketCallTransport(
            socket, limits=self.limits, start_timeout_s=self.start_timeout_s
        )

        def started(session: CallSession) -> None:
            transport.on_limit_broken = lambda _limit: session.end_now(EndReason.CLIENT_LIMIT)
            transport.send(
                {
                    "type": "ready",
                    "call_id": session.call.id,
                    "sample_rate": SAMPLE_RATE,
                    "stack": self.stack,
                }
            )

        sinks: list[EventSink] = [transport.notify, CallLogContext(), *self.sinks]
        return await self.runner.run(transport, sinks, started=started)
