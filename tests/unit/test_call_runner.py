"""The `CallRunner`, on in-memory lines with scripted fakes: what happens around a call,
whatever the line (admission, answering, finishing, failures)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.application.call_runner import CallPorts, CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.transport import NOT_ANSWERED
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, EndReason
from voice_agent.domain.events import CallAnswered, DomainEvent
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import parse_scenario

pytestmark = pytest.mark.looptime

LONG = {"caller": [{"say": "Hello?"}, {"hang_up": True, "at": 60}], "agent": [{"reply": "Hi."}]}
SHORT = {"caller": [{"say": "Hello?"}, {"hang_up": True}], "agent": [{"reply": "Hi."}]}


def line_and_ports(scenario: dict[str, object]) -> tuple[InMemoryCallTransport, CallPorts]:
    scripted = build_scripted_call(parse_scenario(scenario))
    return scripted.transport, scripted.opened


class Ports:
    """Hands out prepared ports in order and records each call it was asked to finish."""

    def __init__(self, *opened: CallPorts, fail: bool = False) -> None:
        self._opened = list(opened)
        self._fail = fail
        self.finished: list[Call] = []

    async def __call__(self, sinks: Sequence[EventSink]) -> CallPorts:
        if self._fail:
            raise RuntimeError("no providers today")
        opened = self._opened.pop(0)

        async def finish(call: Call) -> None:
            await opened.finish(call)
            self.finished.append(call)

        ports = dataclasses.replace(opened.ports, sinks=[*opened.ports.sinks, *sinks])
        return CallPorts(ports, finish)


async def test_a_call_runs_to_its_end_then_the_line_closes_with_its_reason_and_finishes() -> None:
    line, opened = line_and_ports(SHORT)
    ports = Ports(opened)
    call = await CallRunner(ports, SessionConfig()).run(line)
    assert call is not None
    assert call.end_reason is EndReason.CALLER_HUNG_UP
    assert line.record.closed_for == EndReason.CALLER_HUNG_UP.value
    assert ports.finished == [call]


async def test_a_line_beyond_the_call_limit_is_refused_as_busy() -> None:
    first, first_ports = line_and_ports(LONG)
    second, second_ports = line_and_ports(SHORT)
    ports = Ports(first_ports, second_ports)
    runner = CallRunner(ports, SessionConfig(), max_calls=1)
    running = asyncio.create_task(runner.run(first))
    await asyncio.sleep(1)
    assert len(runner.sessions) == 1
    assert await runner.run(second) is None
    assert second.record.closed_for == "busy"
    runner.end_calls()
    call = await running
    assert call is not None
    assert call.end_reason is EndReason.SERVER_SHUTDOWN
    assert ports.finished == [call]


async def test_once_shutting_down_no_call_is_taken_and_calls_in_progress_end() -> None:
    first, first_ports = line_and_ports(LONG)
    late, _ = line_and_ports(SHORT)
    ports = Ports(first_ports)
    runner = CallRunner(ports, SessionConfig())
    running = asyncio.create_task(runner.run(first))
    await asyncio.sleep(1)
    await runner.shutdown(grace_s=5)
    assert running.done()
    assert first.record.closed_for == EndReason.SERVER_SHUTDOWN.value
    assert await runner.run(late) is None
    assert late.record.closed_for == EndReason.SERVER_SHUTDOWN.value


async def test_a_call_that_cannot_be_set_up_closes_its_line_as_an_internal_error() -> None:
    line, _ = line_and_ports(SHORT)
    runner = CallRunner(Ports(fail=True), SessionConfig())
    assert await runner.run(line) is None
    assert line.record.closed_for == EndReason.INTERNAL_ERROR.value
    assert not runner.sessions


async def test_a_cancelled_call_still_closes_its_line_and_finishes() -> None:
    line, opened = line_and_ports(LONG)
    ports = Ports(opened)
    running = asyncio.create_task(CallRunner(ports, SessionConfig()).run(line))
    await asyncio.sleep(1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert line.record.closed_for == EndReason.CANCELLED.value
    assert [call.end_reason for call in ports.finished] == [EndReason.CANCELLED]


class BrokenLine(InMemoryCallTransport):
    async def open(self) -> None:
        raise RuntimeError("the line broke while ringing")


async def test_a_line_that_breaks_while_being_answered_is_closed_and_counted_out() -> None:
    line = BrokenLine(parse_scenario(SHORT).script)
    runner = CallRunner(Ports(), SessionConfig(), max_answering=1)
    assert await runner.run(line) is None
    assert line.record.closed_for == NOT_ANSWERED
    assert runner.answering == 0


async def test_the_answer_time_runs_from_the_offer_to_the_agents_first_audio() -> None:
    line, opened = line_and_ports(SHORT)
    events: list[DomainEvent] = []
    offered_at = asyncio.get_running_loop().time()
    await asyncio.sleep(0.4)  # e.g. a LiveKit job assigned, the room being joined
    call = await CallRunner(Ports(opened), SessionConfig()).run(
        line, [events.append], offered_at=offered_at
    )
    assert call is not None
    assert call.answer is not None
    assert call.answer.joined_ms == pytest.approx(400, abs=1)
    assert call.answer.first_audio_ms is not None
    assert 400 <= call.answer.first_audio_ms <= 400 + 150  # the fake synthesizer's 0.1 s
    answered = [e for e in events if isinstance(e, CallAnswered)]
    assert [e.answer for e in answered] == [call.answer]
    assert (await opened.ports.repository.get(call.id)).answer == call.answer  # type: ignore[union-attr]


async def test_without_an_offer_the_line_counts_as_offered_when_answered() -> None:
    line, opened = line_and_ports(SHORT)
    call = await CallRunner(Ports(opened), SessionConfig()).run(line)
    assert call is not None
    assert call.answer is not None
    assert call.answer.joined_ms == 0
    assert call.answer.first_audio_ms is not None
    assert call.answer.first_audio_ms > 0
