from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.ports.repository import CallRepository
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health, HealthChecker
from voice_agent.entrypoints.web.api import ApiDependencies, create_app

API_KEY = "test-key-0123456789"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Probes:
    """Component health the tests can change."""

    def __init__(self) -> None:
        self.database = ComponentHealth(Health.HEALTHY, "reachable")
        self.runs = 0

    async def probe_database(self) -> ComponentHealth:
        self.runs += 1
        return self.database

    async def probe_ok(self) -> ComponentHealth:
        return ComponentHealth(Health.HEALTHY)


@pytest.fixture
def repository() -> InMemoryCallRepository:
    return InMemoryCallRepository()


@pytest.fixture
def metrics() -> PrometheusMetrics:
    return PrometheusMetrics()


@pytest.fixture
def probes() -> Probes:
    return Probes()


@asynccontextmanager
async def api_client(
    repository: CallRepository, metrics: PrometheusMetrics, probes: Probes
) -> AsyncIterator[httpx.AsyncClient]:
    """The API app on `repository`, called in process."""
    health = HealthChecker({"database": probes.probe_database, "stt": probes.probe_ok}, ttl_s=3600)
    app = create_app(
        ApiDependencies(
            repository=repository,
            metrics=metrics,
            health=health,
            config_status=lambda: {"stack": {"active": "fake"}},
            api_key=API_KEY,
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http


@pytest.fixture
async def client(
    repository: InMemoryCallRepository, metrics: PrometheusMetrics, probes: Probes
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(repository, metrics, probes) as http:
        yield http


def auth(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


__all__ = ["API_KEY", "T0", "api_client", "auth", "timedelta"]
