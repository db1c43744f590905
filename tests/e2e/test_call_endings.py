"""Whatever ends a call (a request from outside, an unexpected error, a cancellation), it
ends in the store, in the metrics and for the caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.session.config import Prompts
from voice_agent.domain.call import Call, CallStatus, EndReason
from voice_agent.domain.errors import IllegalTransition
from voice_agent.domain.events import CallEnded, DomainEvent, StateChanged
from voice_agent.domain.state import ConversationState
from voice_agent.entrypoints.scripted.runner import (
    ScriptedCall,
    build_scripted_call,
    run_fast_forwarded,
)
from voice_agent.entrypoints.scripted.scenario import parse_scenario

LONG_REPLY = (
    "We have tables at six, seven and eight tonight. "
    "The terrace is open if the weather holds, and we can seat up to twelve people."
)
BARGE_IN = {
    "caller": [
        {"say": "Do you have a table tonight?"},
        {"say": "Sorry, for two people", "into_reply": 1.5},
        {"hang_up": True},
    ],
    "agent": [{"reply": LONG_REPLY}, {"reply": "For two, of course."}],
}
SHUTDOWN_GOODBYE = Prompts().shutdown_goodbye
LONG_CALL = {
    "caller": [{"say": "Do you have a table tonight?"}, {"hang_up": True, "at": 600}],
    "agent": [{"reply": LONG_REPLY}],
}


class Outcome:
    def __init__(self, scripted: ScriptedCall, metrics: PrometheusMetrics) -> None:
        self.scripted = scripted
        self.metrics = metrics
        self.events: list[DomainEvent] = []
        self.stored: Call | None = None
        self.answering = asyncio.Event()

    def sample(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)


class Answering:
    """An event sink: set once the agent speaks for the second time (its first answer)."""

    def __init__(self) -> None:
        self.turns = 0
        self.event = asyncio.Event()

    def __call__(self, event: DomainEvent) -> None:
        if isinstance(event, StateChanged) and event.current is ConversationState.SPEAKING:
            self.turns += 1
            if self.turns == 2:
                self.event.set()


def _prepare(scenario: dict[str, Any], transport: type[InMemoryCallTransport] | None) -> Outcome:
    metrics = PrometheusMetrics()
    outcome_events: list[DomainEvent] = []
    answering = Answering()
    scripted = build_scripted_call(
        parse_scenario(scenario),
        sinks=[metrics, outcome_events.append, answering],
        line=transport or InMemoryCallTransport,
    )
    outcome = Outcome(scripted, metrics)
    outcome.events = outcome_events
    outcome.answering = answering.event
    return outcome


def _run(
    scenario: dict[str, Any],
    *,
    transport: type[InMemoryCallTransport] | None = None,
    drive: Any = None,
) -> Outcome:
    outcome = _prepare(scenario, transport)

    async def main() -> Outcome:
        if drive is None:
            await outcome.scripted.run()
        else:
            await drive(outcome)
        outcome.stored = await outcome.scripted.repository.get(outcome.scripted.call.id)
        return outcome

    return run_fast_forwarded(main)


def _assert_ended(outcome: Outcome, status: CallStatus, reason: EndReason) -> None:
    stored = outcome.stored
    assert stored is not None
    assert (stored.status, stored.end_reason) == (status, reason)
    assert stored.ended_at is not None
    assert outcome.sample("voice_agent_active_calls") == 0
    assert outcome.sample("voice_agent_calls_total", status=status.value, reason=reason.value) == 1
    assert [e.reason for e in outcome.events if isinstance(e, CallEnded)] == [reason]


class ClearFailsWithRuntimeError(InMemoryCallTransport):
    async def clear_audio(self) -> None:
        raise RuntimeError("the line broke in an unexpected way")


class ClearFailsWithIllegalTransition(InMemoryCallTransport):
    async def clear_audio(self) -> None:
        raise IllegalTransition("cannot go from SPEAKING to THINKING")


@pytest.mark.parametrize("transport", [ClearFailsWithRuntimeError, ClearFailsWithIllegalTransition])
def test_an_unexpected_error_mid_call_ends_it_as_failed_and_keeps_its_turns(
    transport: type[InMemoryCallTransport],
) -> None:
    outcome = _run(BARGE_IN, transport=transport)
    _assert_ended(outcome, CallStatus.FAILED, EndReason.INTERNAL_ERROR)
    assert outcome.stored is not None
    assert [t.text for t in outcome.stored.turns][1] == "Do you have a table tonight?"
    assert outcome.scripted.transport.record.hung_up_by == "agent"


class BrokenBeforeTheFirstTurn(InMemoryCallTransport):
    @property
    def output_sample_rate(self) -> int:
        raise RuntimeError("no audio format yet")


def test_an_error_before_the_call_is_under_way_still_ends_it() -> None:
    outcome = _run(LONG_CALL, transport=BrokenBeforeTheFirstTurn)
    _assert_ended(outcome, CallStatus.FAILED, EndReason.INTERNAL_ERROR)


async def _cancel_mid_reply(outcome: Outcome) -> None:
    task = asyncio.create_task(outcome.scripted.run())
    await outcome.answering.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_cancelled_call_is_ended_stored_and_counted() -> None:
    outcome = _run(LONG_CALL, drive=_cancel_mid_reply)
    _assert_ended(outcome, CallStatus.FAILED, EndReason.CANCELLED)
    assert outcome.stored is not None
    assert [t.text for t in outcome.stored.turns][:2] == [
        outcome.stored.turns[0].text,
        "Do you have a table tonight?",
    ]


async def _cancel_twice_mid_reply(outcome: Outcome) -> None:
    """A second cancellation while the session is ending the call after the first (a
    server that gives up waiting on its shutdown)."""
    task = asyncio.create_task(outcome.scripted.run())
    await outcome.answering.wait()
    task.cancel()
    await asyncio.sleep(0)  # the session is stopping its reply
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_call_cancelled_again_while_ending_is_still_ended_and_stored() -> None:
    outcome = _run(LONG_CALL, drive=_cancel_twice_mid_reply)
    _assert_ended(outcome, CallStatus.FAILED, EndReason.CANCELLED)


async def _shut_down_mid_reply(outcome: Outcome) -> None:
    task = asyncio.create_task(outcome.scripted.run())
    await outcome.answering.wait()
    outcome.scripted.started_session.end_now(EndReason.SERVER_SHUTDOWN)
    await task


def test_ending_a_call_from_outside_stops_the_agent_and_stores_the_reason() -> None:
    outcome = _run(LONG_CALL, drive=_shut_down_mid_reply)
    _assert_ended(outcome, CallStatus.COMPLETED, EndReason.SERVER_SHUTDOWN)
    record = outcome.scripted.transport.record
    assert record.hung_up_by == "agent"
    assert outcome.stored is not None
    answer = outcome.stored.turns[-1]
    assert answer.interrupted
    assert len(answer.heard_text or "") < len(LONG_REPLY)


async def _shut_down_with_goodbye_mid_reply(outcome: Outcome) -> None:
    task = asyncio.create_task(outcome.scripted.run())
    await outcome.answering.wait()
    outcome.scripted.started_session.end_now(EndReason.SERVER_SHUTDOWN, goodbye=True)
    await task


def test_a_call_ended_from_outside_with_a_goodbye_hears_it_whole_then_ends() -> None:
    outcome = _run(LONG_CALL, drive=_shut_down_with_goodbye_mid_reply)
    _assert_ended(outcome, CallStatus.COMPLETED, EndReason.SERVER_SHUTDOWN)
    assert outcome.stored is not None
    answer, goodbye = outcome.stored.turns[-2:]
    assert answer.interrupted
    assert (goodbye.text, goodbye.heard_text) == (SHUTDOWN_GOODBYE, SHUTDOWN_GOODBYE)
    assert not goodbye.interrupted
    assert outcome.scripted.transport.record.hung_up_by == "agent"


async def _end_again_during_the_goodbye(outcome: Outcome) -> None:
    task = asyncio.create_task(outcome.scripted.run())
    await outcome.answering.wait()
    session = outcome.scripted.started_session
    session.end_now(EndReason.SERVER_SHUTDOWN, goodbye=True)
    session.end_now(EndReason.SERVER_SHUTDOWN, goodbye=True)  # a second request: no 2nd goodbye
    await asyncio.sleep(1.0)  # fast-forwarded: a second into the goodbye
    session.end_now(EndReason.SERVER_SHUTDOWN)
    await task


def test_a_goodbye_cut_short_by_a_second_request_ends_the_call_at_once() -> None:
    outcome = _run(LONG_CALL, drive=_end_again_during_the_goodbye)
    _assert_ended(outcome, CallStatus.COMPLETED, EndReason.SERVER_SHUTDOWN)
    assert outcome.stored is not None
    goodbye = outcome.stored.turns[-1]
    assert goodbye.text == SHUTDOWN_GOODBYE
    assert goodbye.interrupted
    assert SHUTDOWN_GOODBYE.startswith(goodbye.heard_text or "")
    assert [t.text for t in outcome.stored.turns].count(SHUTDOWN_GOODBYE) == 1


def test_every_outcome_is_exposed_from_the_start() -> None:
    text = PrometheusMetrics().exposition().decode()
    for status, reason in [
        ("completed", "server_shutdown"),
        ("failed", "internal_error"),
        ("failed", "cancelled"),
        ("completed", "caller_hung_up"),
    ]:
        assert f'voice_agent_calls_total{{reason="{reason}",status="{status}"}} 0.0' in text
