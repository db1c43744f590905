"""End-to-end calls on fakes, on a fast-forwarded event loop (looptime): a call's timeline
is the real one, but a minute of conversation runs in a fraction of a second."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fake_servers.livekit_agent import FakeLiveKitDispatch

from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.turn import Role, Turn
from voice_agent.entrypoints.scripted.runner import (
    ScriptedCall,
    build_scripted_call,
    run_fast_forwarded,
)
from voice_agent.entrypoints.scripted.scenario import parse_scenario


class CallRun:
    """A finished scripted call, with helpers for assertions."""

    def __init__(self, scripted: ScriptedCall, events: list[DomainEvent]) -> None:
        self.scripted = scripted
        self.events = events
        self.call: Call = scripted.call
        self.stored: Call | None = None

    @property
    def agent_turns(self) -> list[Turn]:
        return [t for t in self.call.turns if t.role is Role.AGENT]

    @property
    def caller_turns(self) -> list[Turn]:
        return [t for t in self.call.turns if t.role is Role.CALLER]

    def events_of(self, kind: type[DomainEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


RunCall = Callable[..., CallRun]


@pytest.fixture
def run_call() -> RunCall:
    def run(scenario: dict[str, Any], base: SessionConfig | None = None) -> CallRun:
        parsed = parse_scenario(scenario)
        events: list[DomainEvent] = []

        async def main() -> CallRun:
            scripted = build_scripted_call(parsed, base=base, sinks=[events.append])
            await scripted.run()
            result = CallRun(scripted, events)
            result.stored = await scripted.repository.get(scripted.call.id)
            return result

        return run_fast_forwarded(main)

    return run


@pytest.fixture
async def dispatch() -> AsyncIterator[FakeLiveKitDispatch]:
    """The loopback fake of LiveKit's dispatch WebSocket (`/agent`)."""
    async with FakeLiveKitDispatch() as fake:
        yield fake  # type: ignore[misc]
