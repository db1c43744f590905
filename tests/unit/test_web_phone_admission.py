"""The web phone's admission: connections that never send `start` are capped and timed out,
so that idle sockets cannot exhaust the server before any call is placed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from tests.unit.test_web_transport import MemorySocket, other_tasks
from voice_agent.application.call_runner import CallPorts, CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.web.phone import WebPhone

pytestmark = pytest.mark.looptime


async def no_call(sinks: Sequence[EventSink]) -> CallPorts:
    raise AssertionError("no call may start")


async def test_connections_waiting_for_start_are_capped_then_timed_out() -> None:
    phone = WebPhone(
        CallRunner(no_call, SessionConfig(), max_answering=2), "fake", start_timeout_s=5.0
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    idle = [MemorySocket() for _ in range(2)]
    waiting = [asyncio.create_task(phone.handle(socket)) for socket in idle]
    await asyncio.sleep(0.1)
    assert phone.runner.answering == 2

    third = MemorySocket()
    assert await phone.handle(third) is None
    assert loop.time() - started == pytest.approx(0.1)
    assert third.controls == [
        {"type": "error", "message": "busy: 2 connections waiting"},
        {"type": "ended", "reason": "busy"},
    ]
    assert third.closed

    assert await asyncio.gather(*waiting) == [None, None]
    assert loop.time() - started == pytest.approx(5.0, abs=0.05)
    assert all(socket.closed for socket in idle)
    assert [s.controls for s in idle] == [[{"type": "error", "message": "no start within 5 s"}]] * 2
    assert phone.runner.answering == 0
    assert other_tasks() == set()
