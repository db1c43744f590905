"""Property-based requests generated from the OpenAPI schema (schemathesis): whatever the
input, the API never answers with a server error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import API_KEY
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.livekit.webhook import LiveKitWebhookVerifier
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.domain.call import Call
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health, HealthChecker
from voice_agent.entrypoints.web.api import ApiDependencies, create_app


async def _ok() -> ComponentHealth:
    return ComponentHealth(Health.HEALTHY)


def _app() -> object:
    repository = InMemoryCallRepository()
    asyncio.run(repository.save_call(Call("+15550100", datetime(2026, 11, 25, tzinfo=UTC))))
    return create_app(
        ApiDependencies(
            repository=repository,
            metrics=PrometheusMetrics(),
            health=HealthChecker({"database": _ok}),
            config_status=lambda: {"stack": {"active": "fake"}},
            api_key=API_KEY,
            livekit_webhook=LiveKitWebhookVerifier(
                "fuzz-key", "fuzz-secret-at-least-32-characters"
            ),
        )
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_the_api_fail(case: schemathesis.Case[Any]) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
