import pytest

from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.resilience import BreakerBoard
from voice_agent.entrypoints.cloud import circuit_health

pytestmark = pytest.mark.looptime


async def test_breaker_states_reach_health_and_metrics() -> None:
    board = BreakerBoard(LoopClock(), failure_threshold=1, reset_after_s=10)
    board.breaker("cartesia").record_failure()
    assert circuit_health(board, ["groq"]).state == "closed"
    tts = circuit_health(board, ["cartesia", "cartesia-http"])
    assert (tts.state, tts.providers) == ("open", ["cartesia"])
    metrics = PrometheusMetrics()
    metrics.observe_breakers(board.snapshot())
    text = metrics.exposition().decode()
    assert 'voice_agent_provider_circuit_state{provider="cartesia"} 2.0' in text
    assert 'voice_agent_provider_circuit_state{provider="cartesia-http"} 0.0' in text
