import pytest

from voice_agent.adapters.clock import LoopClock
from voice_agent.application.resilience import BreakerBoard, BreakerState, CircuitBreaker

pytestmark = pytest.mark.looptime


def state(breaker: CircuitBreaker) -> BreakerState:
    """(Read through a function: mypy would otherwise narrow the property's type.)"""
    return breaker.state


async def test_opens_after_consecutive_failures_then_half_opens_for_one_probe() -> None:
    clock = LoopClock()
    breaker = CircuitBreaker("groq", clock, failure_threshold=3, reset_after_s=10)
    states = []
    for _ in range(3):
        breaker.record_failure()
        states.append(state(breaker))
    assert states == [BreakerState.CLOSED, BreakerState.CLOSED, BreakerState.OPEN]
    assert not breaker.allow()
    await clock.sleep(10)
    assert state(breaker) is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow(), "only one probe at a time"
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.snapshot().total_failures == 3


async def test_a_failed_probe_opens_the_circuit_again() -> None:
    clock = LoopClock()
    breaker = CircuitBreaker("cartesia", clock, failure_threshold=1, reset_after_s=5)
    breaker.record_failure()
    await clock.sleep(5)
    assert breaker.allow()
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN
    await clock.sleep(4)
    assert not breaker.allow()


async def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("deepgram", LoopClock(), failure_threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED


async def test_the_board_has_one_breaker_per_provider() -> None:
    board = BreakerBoard(LoopClock(), failure_threshold=1)
    assert board.breaker("groq") is board.breaker("groq")
    board.breaker("groq").record_failure()
    board.breaker("cartesia")
    assert [(s.provider, s.state) for s in board.snapshot()] == [
        ("cartesia", BreakerState.CLOSED),
        ("groq", BreakerState.OPEN),
    ]


async def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", LoopClock(), failure_threshold=0)
