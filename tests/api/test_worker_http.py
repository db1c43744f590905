"""The worker's `/health` and `/metrics` (in process): its status, and 503 whenever LiveKit
cannot give it calls (not registered, drained) or the stack is unhealthy."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.conftest import Probes
from tests.api.test_operations_api import _promtool_check
from voice_agent.adapters.livekit import AgentWorker, AssignedJob, LiveKitSettings
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.domain.call import CallStatus, EndReason
from voice_agent.domain.events import CallEnded, CallStarted
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health, HealthChecker
from voice_agent.entrypoints.worker.http import bind, create_worker_app, watch_worker


async def _no_call(job: AssignedJob) -> None:
    return None


@pytest.fixture
def worker() -> AgentWorker:
    settings = LiveKitSettings("ws://127.0.0.1:9", "key", "secret-" * 6)
    return AgentWorker(settings, _no_call, max_jobs=2)


@pytest.fixture
async def client(
    worker: AgentWorker, metrics: PrometheusMetrics, probes: Probes
) -> AsyncIterator[httpx.AsyncClient]:
    health = HealthChecker({"database": probes.probe_database, "stt": probes.probe_ok}, ttl_s=0)
    watch_worker(metrics, worker)
    app = create_worker_app(worker, health, metrics, max_calls=2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as http:
        yield http


async def test_an_unregistered_worker_answers_503_disconnected(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["worker"]["status"] == "disconnected"
    assert body["worker"]["registered"] is False
    assert body["status"] == "healthy"  # the stack itself is fine
    assert body["components"]["database"] == {"status": "healthy", "detail": "reachable"}


async def test_a_registered_worker_is_available_and_draining_goes_503_once_drained(
    client: httpx.AsyncClient, worker: AgentWorker
) -> None:
    worker.registered.set()
    assert (await client.get("/health")).json()["worker"]["status"] == "available"
    worker.drain()
    drained = await client.get("/health")
    assert drained.status_code == 503
    assert drained.json()["worker"]["status"] == "drained"


async def test_an_unhealthy_stack_answers_503(
    client: httpx.AsyncClient, worker: AgentWorker, probes: Probes
) -> None:
    worker.registered.set()
    probes.database = ComponentHealth(Health.UNHEALTHY, "unreachable")
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


async def test_metrics_carry_the_calls_and_the_workers_status(
    client: httpx.AsyncClient, worker: AgentWorker, metrics: PrometheusMetrics
) -> None:
    metrics(CallStarted("c1", 0.0, None))
    metrics(CallStarted("c2", 0.0, None))
    metrics(CallEnded("c2", 1.0, CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP))
    text = (await client.get("/metrics")).text
    assert "voice_agent_active_calls 1.0" in text
    assert 'voice_agent_worker_status{status="disconnected"} 1.0' in text
    assert "voice_agent_worker_registered 0.0" in text
    assert "voice_agent_worker_accepting 0.0" in text
    worker.registered.set()
    text = (await client.get("/metrics")).text
    assert 'voice_agent_worker_status{status="available"} 1.0' in text
    assert 'voice_agent_worker_status{status="disconnected"} 0.0' in text
    assert "voice_agent_worker_registered 1.0" in text
    assert "voice_agent_worker_accepting 1.0" in text
    worker.drain()
    text = (await client.get("/metrics")).text
    assert "voice_agent_worker_registered 1.0" in text
    assert "voice_agent_worker_accepting 0.0" in text
    assert 'voice_agent_worker_status{status="drained"} 1.0' in text
    returncode, output = _promtool_check(text.encode())
    assert returncode == 0, output


def test_a_port_in_use_stops_the_worker_naming_the_address(worker: AgentWorker) -> None:
    health = HealthChecker({})
    app = create_worker_app(worker, health, PrometheusMetrics(), max_calls=2)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"cannot listen on 127.0.0.1:{port}"):
            bind(app, "127.0.0.1", port, lambda port: None)
