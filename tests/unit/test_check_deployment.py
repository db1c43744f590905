"""`voice-agent check-deployment` against stand-ins: services answering like the API (its real
metrics exposition) or not, and databases at, behind or without the schema. The whole command
against a running serve, worker and LiveKit server is in tests/e2e/test_check_deployment.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from fake_servers.base import LoopbackServer

from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.entrypoints.cli.check_deployment import API_SERIES, check_schema, check_service


class FakeService(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.health_status = 200
        self.health = {"status": "healthy", "components": {"database": {"status": "healthy"}}}
        self.exposition = PrometheusMetrics().exposition().decode()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/health", self._health), web.get("/metrics", self._metrics)]

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response(self.health, status=self.health_status)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(text=self.exposition)


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    server = FakeService()
    await server.start()
    yield server
    await server.stop()


async def _check(service: FakeService) -> list[tuple[str, bool, str]]:
    async with httpx.AsyncClient() as client:
        checks = await check_service(client, "api", service.url, API_SERIES)
    return [(c.name, c.ok, c.detail) for c in checks]


async def test_a_healthy_api_with_every_series_passes(service: FakeService) -> None:
    assert [ok for _, ok, _ in await _check(service)] == [True, True]


async def test_an_unhealthy_api_fails_naming_the_component(service: FakeService) -> None:
    service.health_status = 503
    service.health = {
        "status": "unhealthy",
        "components": {"database": {"status": "unhealthy", "detail": "unreachable"}},
    }
    health, _ = await _check(service)
    assert health == (
        "api /health",
        False,
        "HTTP 503, unhealthy; database unhealthy (unreachable)",
    )


async def test_missing_series_are_named(service: FakeService) -> None:
    service.exposition = "\n".join(
        line for line in service.exposition.splitlines() if "voice_agent_cost_usd" not in line
    )
    _, metrics = await _check(service)
    assert metrics == ("api /metrics", False, "missing series: voice_agent_cost_usd")


async def test_a_service_down_is_reported_not_raised() -> None:
    async with httpx.AsyncClient() as client:
        checks = await check_service(client, "worker 1", "http://127.0.0.1:9", API_SERIES)
    assert [c.ok for c in checks] == [False, False]
    assert checks[0].detail.startswith("cannot reach http://127.0.0.1:9/health")


async def test_the_schema_check_tells_to_migrate_when_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    empty = await check_schema(url)
    assert not empty.ok
    assert "at revision none (empty database)" in empty.detail
    assert "run `voice-agent migrate`" in empty.detail

    database = Database(url)
    await database.migrate("0002")
    behind = await check_schema(url)
    await database.migrate()
    current = await check_schema(url)
    await database.dispose()
    assert not behind.ok
    assert behind.detail.startswith("at revision 0002, this version needs ")
    assert current.ok
