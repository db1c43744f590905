import asyncio

import pytest

from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.resilience import BreakerBoard
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health
from voice_agent.entrypoints.bootstrap.stack_health import circuit_probes

pytestmark = pytest.mark.looptime


async def test_breaker_states_reach_metrics() -> None:
    board = BreakerBoard(LoopClock(), failure_threshold=1, reset_after_s=10)
    board.breaker("cartesia").record_failure()
    board.breaker("cartesia-http")
    metrics = PrometheusMetrics()
    metrics.observe_breakers(board.snapshot())
    text = metrics.exposition().decode()
    assert 'voice_agent_provider_circuit_state{provider="cartesia"} 2.0' in text
    assert 'voice_agent_provider_circuit_state{provider="cartesia-http"} 0.0' in text


async def test_stage_health_follows_the_breakers_of_its_chain() -> None:
    board = BreakerBoard(LoopClock(), failure_threshold=2, reset_after_s=30)
    probes = circuit_probes(board, {"llm": ["groq"], "tts": ["cartesia", "cartesia-http"]})
    assert [s.provider for s in board.snapshot()] == ["cartesia", "cartesia-http", "groq"]
    assert await probes["llm"]() == ComponentHealth(Health.HEALTHY, "groq: circuit closed")

    board.breaker("groq").record_failure()
    assert await probes["llm"]() == ComponentHealth(
        Health.HEALTHY, "groq: circuit closed, 1 failures in a row"
    )
    board.breaker("groq").record_failure()
    await asyncio.sleep(17.5)
    assert await probes["llm"]() == ComponentHealth(
        Health.UNHEALTHY, "groq: circuit open after 2 failures, retry in 13 s"
    )
    await asyncio.sleep(12.5)
    assert await probes["llm"]() == ComponentHealth(
        Health.DEGRADED, "groq: circuit half-open, the next request probes it"
    )

    # One link of a chain open: its fallback answers, the stage is degraded.
    for _ in range(2):
        board.breaker("cartesia").record_failure()
    tts = await probes["tts"]()
    assert tts.status is Health.DEGRADED
    assert tts.detail == (
        "cartesia: circuit open after 2 failures, retry in 30 s; cartesia-http: circuit closed"
    )
    for _ in range(2):
        board.breaker("cartesia-http").record_failure()
    assert (await probes["tts"]()).status is Health.UNHEALTHY


async def test_metrics_read_the_breakers_they_watch_at_each_exposition() -> None:
    board = BreakerBoard(LoopClock(), failure_threshold=1, reset_after_s=10)
    board.breaker("groq")
    metrics = PrometheusMetrics()
    metrics.watch_breakers(board.snapshot)
    assert 'voice_agent_provider_circuit_state{provider="groq"} 0.0' in _text(metrics)
    board.breaker("groq").record_failure()
    assert 'voice_agent_provider_circuit_state{provider="groq"} 2.0' in _text(metrics)
    await asyncio.sleep(10)
    assert 'voice_agent_provider_circuit_state{provider="groq"} 1.0' in _text(metrics)


def _text(metrics: PrometheusMetrics) -> str:
    return metrics.exposition().decode()
