"""The FastAPI application: `/health`, `/metrics`, `/config/status`, `/calls`, and LiveKit's
webhook with the room events it recorded (`/livekit/...`)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voice_agent.adapters.observability.metrics import CONTENT_TYPE, PrometheusMetrics
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.webhook import WebhookVerifier
from voice_agent.domain.call import CallStatus
from voice_agent.domain.events import CallerInterrupted
from voice_agent.entrypoints.bootstrap.health import Health, HealthChecker
from voice_agent.entrypoints.web.api.livekit import add_livekit_routes
from voice_agent.entrypoints.web.api.schemas import (
    CallDetail,
    CallList,
    CallSummary,
    ComponentOut,
    HealthOut,
    Instant,
    TurnOut,
    event_out,
)

MAX_PAGE = 100
INSTANT = (
    "ISO 8601 date-time, e.g. 2026-11-25T14:30:00+05:30; any offset (compared in UTC), "
    "none means UTC."
)
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ApiDependencies:
    repository: CallRepository
    metrics: PrometheusMetrics
    health: HealthChecker
    config_status: Callable[[], Mapping[str, Any]]
    api_key: str | None
    """Bearer token for `/calls` and `/livekit/events`; None disables those endpoints (401
    with a reason)."""
    livekit_webhook: WebhookVerifier | None = None
    """Checks LiveKit's webhook deliveries; None (no LiveKit key and secret) disables
    `POST /livekit/webhook` (503 with a reason)."""


bearer = HTTPBearer(auto_error=False)


def create_app(deps: ApiDependencies) -> FastAPI:
    app = FastAPI(
        title="voice-agent",
        version="0.1.0",
        description="Health, metrics, configuration status and call records of the voice agent, "
        "and LiveKit's room events.",
    )

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        with structlog.contextvars.bound_contextvars(request_id=rid):
            response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    def require_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if deps.api_key is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "call records are disabled: set API_KEY to enable"
            )
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not secrets.compare_digest(credentials.credentials.encode(), deps.api_key.encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    authorized = [Depends(require_key)]

    @app.get("/health", response_model=HealthOut, tags=["operations"])
    async def health() -> JSONResponse:
        overall, components = await deps.health.check()
        body = HealthOut(
            status=overall.value,
            components={
                name: ComponentOut(status=c.status.value, detail=c.detail)
                for name, c in components.items()
            },
        )
        code = 503 if overall is Health.UNHEALTHY else 200
        return JSONResponse(body.model_dump(), status_code=code)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        return Response(deps.metrics.exposition(), media_type=CONTENT_TYPE)

    @app.get("/config/status", tags=["operations"])
    async def config_status() -> Mapping[str, Any]:
        return deps.config_status()

    @app.get("/calls", response_model=CallList, tags=["calls"], dependencies=authorized)
    async def list_calls(
        status_: Annotated[CallStatus | None, Query(alias="status")] = None,
        started_after: Annotated[Instant | None, Query(description=INSTANT)] = None,
        started_before: Annotated[Instant | None, Query(description=INSTANT)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> CallList:
        page = await deps.repository.list(
            status=status_,
            started_after=started_after,
            started_before=started_before,
            limit=limit,
            offset=offset,
        )
        return CallList(
            total=page.total,
            limit=limit,
            offset=offset,
            calls=[CallSummary.of(c) for c in page.calls],
        )

    @app.get("/calls/{call_id}", response_model=CallDetail, tags=["calls"], dependencies=authorized)
    async def get_call(call_id: Annotated[str, PathParam(max_length=64)]) -> CallDetail:
        call = await deps.repository.get(call_id)
        if call is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call with id {call_id!r}")
        events = await deps.repository.events(call_id)
        summary = CallSummary.of(call)
        return CallDetail(
            **summary.model_dump(),
            turns=[TurnOut.of(t) for t in call.turns],
            interruptions=sum(isinstance(e, CallerInterrupted) for e in events),
            events=[event_out(e) for e in events],
        )

    add_livekit_routes(
        app, repository=deps.repository, verifier=deps.livekit_webhook, authorized=authorized
    )
    return app
