import asyncio
from datetime import UTC, datetime

import pytest

from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.ports.errors import ProviderError, ProviderUnavailable
from voice_agent.application.session.inputs import Input, Timer, TimerFired
from voice_agent.application.session.recorder import CallRecorder
from voice_agent.application.session.timers import Timers
from voice_agent.domain.call import Call
from voice_agent.domain.turn import Role, Turn

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.looptime
async def test_a_rescheduled_timer_makes_the_earlier_firing_stale() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    timers = Timers(inputs)
    timers.schedule(Timer.END_OF_TURN, 0.1)
    await asyncio.sleep(0.2)  # fired and queued
    timers.schedule(Timer.END_OF_TURN, 0.5)
    stale = await inputs.get()
    assert isinstance(stale, TimerFired)
    assert not timers.is_current(stale)
    fresh = await inputs.get()
    assert isinstance(fresh, TimerFired)
    assert timers.is_current(fresh)


@pytest.mark.looptime
async def test_a_cancelled_timer_never_fires() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    timers = Timers(inputs)
    timers.schedule(Timer.SILENCE, 0.1)
    timers.cancel(Timer.SILENCE)
    await asyncio.sleep(1)
    assert inputs.empty()


class FlakyRepository(InMemoryCallRepository):
    """Refuses the turns whose text is in `failing`, `times` times each, as a locked or
    unreachable database does."""

    def __init__(self, failing: set[str], times: int) -> None:
        super().__init__()
        self.failing = failing
        self.left = dict.fromkeys(failing, times)

    async def save_turn(self, call_id: str, turn: Turn) -> None:
        if self.left.get(turn.text, 0) > 0:
            self.left[turn.text] -= 1
            raise ProviderUnavailable("database", "database is locked")
        await super().save_turn(call_id, turn)


class UpToFourAttempts:
    def delay_before(self, attempt: int, error: ProviderError) -> float | None:
        return 0.5 if attempt <= 4 and error.retryable else None


async def _record_two_turns(
    repository: FlakyRepository, metrics: PrometheusMetrics | None = None
) -> tuple[Call | None, CallRecorder]:
    call = Call(caller_number="+15550100", started_at=NOW)
    recorder = CallRecorder(
        repository,
        call.id,
        clock=LoopClock(),
        retry=UpToFourAttempts(),
        on_failure=metrics or (lambda _: None),
    )
    recorder.start()
    recorder.save_call(call)
    first = Turn(Role.CALLER, "first", index=0, started_at=NOW)
    second = Turn(Role.CALLER, "second", index=1, started_at=NOW)
    recorder.save_turn(first)
    recorder.save_turn(second)
    second.text = "changed after the save was queued"
    await recorder.close()
    return await repository.get(call.id), recorder


@pytest.mark.looptime
async def test_a_write_that_fails_for_a_moment_is_retried_and_kept_in_order() -> None:
    stored, recorder = await _record_two_turns(FlakyRepository({"first"}, times=3))
    assert stored is not None
    assert [t.text for t in stored.turns] == ["first", "second"]
    assert (recorder.retries, recorder.failures) == (3, 0)


@pytest.mark.looptime
async def test_a_write_that_keeps_failing_is_given_up_and_the_next_ones_go_on() -> None:
    stored, recorder = await _record_two_turns(FlakyRepository({"first"}, times=100))
    assert stored is not None
    assert [t.text for t in stored.turns] == ["second"]
    assert (recorder.retries, recorder.failures) == (3, 1)


@pytest.mark.looptime
async def test_failed_writes_are_counted_in_the_metrics_retried_or_given_up() -> None:
    metrics = PrometheusMetrics()
    await _record_two_turns(FlakyRepository({"first"}, times=100), metrics)
    errors = metrics.registry.get_sample_value(
        "voice_agent_store_errors_total", {"operation": "save_turn"}
    )
    assert errors == 4  # three retried attempts, then the one given up
    assert (
        metrics.registry.get_sample_value(
            "voice_agent_store_errors_total", {"operation": "save_call"}
        )
        == 0
    )
