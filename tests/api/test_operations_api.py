import shutil
import subprocess
from datetime import UTC, datetime

import httpx
import pytest

from tests.api.conftest import Probes
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.domain.call import AnswerTime, CallStatus, EndReason
from voice_agent.domain.events import (
    CallAnswered,
    CallEnded,
    CallerInterrupted,
    CallStarted,
    TurnCompleted,
    UsageRecorded,
)
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn
from voice_agent.domain.usage import ProviderUsage
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health, HealthChecker


async def test_health_reports_each_component(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "components": {
            "database": {"status": "healthy", "detail": "reachable"},
            "stt": {"status": "healthy", "detail": ""},
        },
    }


async def test_an_unhealthy_component_makes_health_503_and_degraded_stays_200(
    client: httpx.AsyncClient, probes: Probes
) -> None:
    probes.database = ComponentHealth(Health.DEGRADED, "slow")
    # Probes are cached: the first answer stands until the cache expires.
    assert (await client.get("/health")).json()["status"] == "degraded"
    probes.database = ComponentHealth(Health.UNHEALTHY, "unreachable")
    assert (await client.get("/health")).status_code == 200
    assert probes.runs == 1


async def test_metrics_follow_call_events_and_pass_promtool(
    client: httpx.AsyncClient, metrics: PrometheusMetrics
) -> None:
    now = datetime.now(UTC)
    metrics(CallStarted("c1", 0.0, "+15550100"))
    metrics(CallStarted("c2", 0.0, None))
    turn = Turn(Role.AGENT, "Hi", 1, now, latency=LatencyBreakdown(350, 170, 300, 100, 783))
    metrics(TurnCompleted("c1", 1.0, turn))
    metrics(CallerInterrupted("c1", 2.0, 1.5))
    metrics(CallEnded("c1", 3.0, CallStatus.COMPLETED, EndReason.GOODBYE))
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert "voice_agent_active_calls 1.0" in text
    assert 'voice_agent_calls_total{reason="goodbye",status="completed"} 1.0' in text
    assert 'voice_agent_turn_latency_seconds_count{stage="e2e"} 1.0' in text
    assert 'voice_agent_turn_latency_seconds_bucket{le="0.8",stage="e2e"} 1.0' in text
    assert "voice_agent_interruptions_total 1.0" in text
    returncode, output = _promtool_check(response.content)
    assert returncode == 0, output


async def test_usage_and_cost_of_finished_calls_are_counted(
    client: httpx.AsyncClient, metrics: PrometheusMetrics
) -> None:
    groq = ProviderUsage("groq", llm_prompt_tokens=900, llm_completion_tokens=40)
    cartesia = ProviderUsage("cartesia", tts_characters=120)
    metrics(UsageRecorded("c1", 3.0, (groq, cartesia), 0.0042))
    metrics(UsageRecorded("c2", 4.0, (ProviderUsage("deepgram", stt_audio_seconds=30.0),), 0.004))
    text = (await client.get("/metrics")).text
    assert 'voice_agent_llm_tokens_total{kind="prompt",provider="groq"} 900.0' in text
    assert 'voice_agent_tts_characters_total{provider="cartesia"} 120.0' in text
    assert 'voice_agent_stt_audio_seconds_total{provider="deepgram"} 30.0' in text
    cost = metrics.registry.get_sample_value("voice_agent_cost_usd_total")
    assert cost == pytest.approx(0.0082)


async def test_answer_times_are_histograms(
    client: httpx.AsyncClient, metrics: PrometheusMetrics
) -> None:
    metrics(CallAnswered("c1", 1.0, AnswerTime(joined_ms=300.0, first_audio_ms=900.0)))
    metrics(CallAnswered("c2", 1.0, AnswerTime(joined_ms=0.0, first_audio_ms=2600.0)))
    response = await client.get("/metrics")
    text = response.text
    assert 'voice_agent_answer_seconds_bucket{le="1.0"} 1.0' in text
    assert "voice_agent_answer_seconds_count 2.0" in text
    assert 'voice_agent_answer_joined_seconds_bucket{le="0.4"} 2.0' in text
    total = metrics.registry.get_sample_value("voice_agent_answer_seconds_sum")
    assert total == pytest.approx(3.5)
    returncode, output = _promtool_check(response.content)
    assert returncode == 0, output


def _promtool_check(exposition: bytes) -> tuple[int, bytes]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by `make test`"
    check = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, check=False
    )
    return check.returncode, check.stdout + check.stderr


async def test_openapi_schema_lists_the_endpoints(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert {"/health", "/metrics", "/config/status", "/calls", "/calls/{call_id}"} <= set(
        schema["paths"]
    )
    assert (await client.get("/docs")).status_code == 200


async def test_an_unhealthy_component_answers_503() -> None:
    async def down() -> ComponentHealth:
        raise ConnectionRefusedError

    async def up() -> ComponentHealth:
        return ComponentHealth(Health.HEALTHY)

    overall, components = await HealthChecker({"database": down, "llm": up}).check()
    assert overall is Health.UNHEALTHY
    assert components["database"] == ComponentHealth(Health.UNHEALTHY, "ConnectionRefusedError")


async def test_stale_probes_refresh_in_the_background() -> None:
    runs = 0

    async def probe() -> ComponentHealth:
        nonlocal runs
        runs += 1
        return ComponentHealth(Health.HEALTHY if runs == 1 else Health.DEGRADED)

    checker = HealthChecker({"db": probe}, ttl_s=0.0)
    assert (await checker.check())[0] is Health.HEALTHY
    assert (await checker.check())[0] is Health.HEALTHY  # served from cache, refresh started
    await checker.wait_for_refresh()
    assert (await checker.check())[0] is Health.DEGRADED
