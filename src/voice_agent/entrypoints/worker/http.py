"""The worker's own HTTP port: `/health` (the worker's status, its calls, and the stack's
health as `serve` reports it) and `/metrics` (everything `serve` exports for calls, and the
worker's status).

uvicorn runs on the worker's event loop, on a socket bound here (a port in use fails the
start-up with the address), and without its own signal handlers: the worker owns SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from enum import StrEnum

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import Gauge
from pydantic import BaseModel

from voice_agent.adapters.livekit import AgentWorker
from voice_agent.adapters.observability.metrics import CONTENT_TYPE, PrometheusMetrics
from voice_agent.entrypoints.bootstrap.health import Health, HealthChecker
from voice_agent.entrypoints.web.api.schemas import ComponentOut, HealthOut

log = logging.getLogger(__name__)


class WorkerStatus(StrEnum):
    AVAILABLE = "available"
    """Registered, takes calls."""
    FULL = "full"
    """Registered, at `WORKER_MAX_CALLS` (or its load limit): takes no call for now."""
    DRAINING = "draining"
    """Stopping (SIGTERM, or the server's `go_away`): takes no call, calls in progress go on."""
    DRAINED = "drained"
    """Stopping, and no call left."""
    DISCONNECTED = "disconnected"
    """Not registered with the LiveKit server (starting, or reconnecting)."""


def worker_status(worker: AgentWorker) -> WorkerStatus:
    if worker.draining:
        return WorkerStatus.DRAINING if worker.jobs else WorkerStatus.DRAINED
    if not worker.registered.is_set():
        return WorkerStatus.DISCONNECTED
    return WorkerStatus.FULL if worker.full else WorkerStatus.AVAILABLE


class WorkerOut(BaseModel):
    status: str
    registered: bool
    worker_id: str | None
    active_calls: int
    max_calls: int


class WorkerHealthOut(HealthOut):
    worker: WorkerOut


def watch_worker(metrics: PrometheusMetrics, worker: AgentWorker) -> None:
    """The worker's gauges, read at every scrape: `voice_agent_worker_registered` and
    `voice_agent_worker_accepting` (0 or 1, what the alert rules and the dashboard sum over
    workers), and `voice_agent_worker_status{status=...}` (1 for its status, 0 for the
    others)."""
    registered = Gauge(
        "voice_agent_worker_registered",
        "1 while the worker is registered with the LiveKit server.",
        registry=metrics.registry,
    )
    registered.set_function(lambda: float(worker.registered.is_set()))
    accepting = Gauge(
        "voice_agent_worker_accepting",
        "1 while the worker takes new calls (registered, not full, not draining).",
        registry=metrics.registry,
    )
    accepting.set_function(lambda: float(worker_status(worker) is WorkerStatus.AVAILABLE))
    gauge = Gauge(
        "voice_agent_worker_status",
        "The LiveKit worker's status (1 for the current one).",
        ["status"],
        registry=metrics.registry,
    )
    for status in WorkerStatus:
        gauge.labels(status.value).set_function(
            lambda status=status: float(worker_status(worker) is status)  # type: ignore[misc]
        )


def create_worker_app(
    worker: AgentWorker, health: HealthChecker, metrics: PrometheusMetrics, max_calls: int
) -> FastAPI:
    """`/health` answers 503 while the worker is not registered (LiveKit cannot give it
    calls), once it has drained, or when the stack is unhealthy."""
    app = FastAPI(title="voice-agent worker", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health_() -> JSONResponse:
        overall, components = await health.check()
        status = worker_status(worker)
        body = WorkerHealthOut(
            status=overall.value,
            components={
                name: ComponentOut(status=c.status.value, detail=c.detail)
                for name, c in components.items()
            },
            worker=WorkerOut(
                status=status.value,
                registered=worker.registered.is_set(),
                worker_id=worker.worker_id,
                active_calls=len(worker.jobs),
                max_calls=max_calls,
            ),
        )
        serving = status not in (WorkerStatus.DISCONNECTED, WorkerStatus.DRAINED)
        code = 200 if serving and overall is not Health.UNHEALTHY else 503
        return JSONResponse(body.model_dump(), status_code=code)

    @app.get("/metrics", response_class=Response)
    async def metrics_() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return app


class _WorkerHttpServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the worker handles SIGTERM and SIGINT itself


class WorkerHttp:
    """Serves `app` on `host:port` from `start()` until `stop()`."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._socket = socket.create_server((host, port), reuse_port=False)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self._server = _WorkerHttpServer(config)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve([self._socket]), name="worker-http")

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self._socket.close()


def bind(app: FastAPI, host: str, port: int, on_listening: Callable[[int], None]) -> WorkerHttp:
    """Bind the port now (a port in use is a `SystemExit` naming it)."""
    try:
        http = WorkerHttp(app, host, port)
    except OSError as error:
        raise SystemExit(f"the worker cannot listen on {host}:{port}: {error.strerror}") from None
    log.info("worker health and metrics on http://%s:%d", host, http.port)
    on_listening(http.port)
    return http
