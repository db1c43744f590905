"""The HTTP server process: the API, and the agent's web phone (`/` and `/ws`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr, ValidationError

from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.adapters.web.transport import SAMPLE_RATE
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.resilience import BreakerSnapshot
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.api import ApiDependencies, create_app
from voice_agent.entrypoints.api.health import ComponentHealth, Health, HealthChecker, Probe
from voice_agent.entrypoints.container import session_config
from voice_agent.entrypoints.phone import CallPorts, StarletteSocket, WebPhone
from voice_agent.entrypoints.settings import Settings, StackName
from voice_agent.entrypoints.stack import StackChoice, choose_stack
from voice_agent.entrypoints.stack_health import circuit_probes, worker_probe
from voice_agent.entrypoints.store import open_call_store

STATIC = Path(__file__).parent / "static"


def config_status(settings: Settings, stack: StackChoice) -> dict[str, Any]:
    """Each setting group: valid / missing / invalid, with secrets masked."""
    keys = settings.provider_keys
    missing = keys.missing()
    return {
        "stack": {"active": stack.name.value, "reason": stack.reason},
        "groups": {
            "engine": {"state": "valid", "values": settings.engine.model_dump()},
            "providers": {
                "state": "valid" if not missing else "missing",
                "missing": missing,
                "values": {name: _mask(v) for name, v in keys},
            },
            "database": {
                "state": "valid",
                "values": {"database_url": _mask_url(settings.database_url)},
            },
            "api": {
                "state": "valid" if settings.api_key else "missing",
                "values": {"api_key": _mask(settings.api_key)},
            },
            "persona": {
                "state": "valid",
                "values": {
                    "system_prompt_file": str(settings.system_prompt_file),
                    "greeting": settings.greeting,
                    "web_phone_max_calls": settings.web_phone_max_calls,
                },
            },
        },
    }


def _mask(value: SecretStr | None) -> str | None:
    return None if value is None else "***"


def _mask_url(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def health_checker(
    database: Database, stack: StackChoice, stages: Mapping[str, Probe] | None = None
) -> HealthChecker:
    """`stages`: the loaded stack's probes for stt, llm and tts (breakers on the cloud stack,
    model workers on the local one); without them (the fake stack) they report its name."""

    async def database_probe() -> ComponentHealth:
        await database.ping()
        return ComponentHealth(Health.HEALTHY, "reachable")

    async def unloaded() -> ComponentHealth:
        return ComponentHealth(Health.HEALTHY, f"{stack.name.value} stack")

    async def telephony() -> ComponentHealth:
        return ComponentHealth(Health.DEGRADED, "no SIP trunk configured")

    probes: dict[str, Probe] = {"database": database_probe}
    for stage in ("stt", "llm", "tts"):
        probes[stage] = (stages or {}).get(stage, unloaded)
    probes["telephony"] = telephony
    return HealthChecker(probes)


StackPorts = Callable[[CallRepository, Sequence[EventSink]], CallPorts]


async def _nothing_to_close() -> None:
    return None


@dataclass(frozen=True, slots=True)
class LoadedStack:
    ports: StackPorts
    config: SessionConfig
    close: Callable[[], Awaitable[None]] = _nothing_to_close
    probes: Mapping[str, Probe] = field(default_factory=dict)
    """`/health` probes of the stack's stages, from its breakers or model workers."""
    breakers: Callable[[], Iterable[BreakerSnapshot]] | None = None
    """The process's circuit breakers, for `/metrics`."""


async def load_stack(settings: Settings, stack: StackChoice) -> LoadedStack | None:
    """Load the models the stack runs on (once per process); None if the web phone cannot
    run on it."""
    if stack.name is StackName.LOCAL:
        from voice_agent.entrypoints.local_stack import LocalModels

        models = await asyncio.to_thread(LocalModels.load)
        config = LocalModels.tune(session_config(settings))
        await models.warm(config, SAMPLE_RATE)
        return LoadedStack(
            lambda repo, sinks: CallPorts(models.ports_factory(repo, sinks)),
            config,
            probes={stage: worker_probe(w.status) for stage, w in models.workers().items()},
        )
    if stack.name is StackName.CLOUD:
        from voice_agent.entrypoints.cloud_phone import load_cloud_stack

        cloud = await load_cloud_stack(settings)
        return LoadedStack(
            cloud.ports,
            session_config(settings),
            cloud.close,
            probes=circuit_probes(cloud.board, cloud.stages),
            breakers=cloud.board.snapshot,
        )
    return None


def create_server_app(settings: Settings | None = None) -> FastAPI:
    """The app uvicorn serves: opens the call store at start-up (refusing a schema that is
    behind, closing calls a dead process left active), loads the stack's models, and at
    shutdown ends the calls in progress (`server_shutdown`), then closes the store.

    `app.state.end_calls()` ends every call in progress at once: `run_server` calls it on
    SIGTERM, before uvicorn closes the WebSockets."""
    try:
        settings = settings or Settings()
    except ValidationError as error:
        raise SystemExit(f"invalid configuration: {error}") from error
    stack = choose_stack(settings)
    metrics = PrometheusMetrics()
    phone: WebPhone | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal phone
        database, repository = await open_call_store(settings.database_url)
        loaded = await load_stack(settings, stack)
        if loaded is not None and loaded.breakers is not None:
            metrics.watch_breakers(loaded.breakers)
        if loaded is not None:
            ports = loaded.ports

            def call_ports(sinks: Sequence[EventSink]) -> CallPorts:
                return ports(repository, [*sinks, metrics])

            phone = WebPhone(
                call_ports,
                loaded.config,
                stack.name.value,
                max_calls=settings.web_phone_max_calls,
            )
        api = create_app(
            ApiDependencies(
                repository=repository,
                metrics=metrics,
                health=health_checker(database, stack, loaded.probes if loaded else None),
                config_status=lambda: config_status(settings, stack),
                api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            )
        )
        app.mount("/", api)
        try:
            yield
        finally:
            try:
                if phone is not None:
                    await phone.shutdown(settings.shutdown_grace_s)
            finally:
                if loaded is not None:
                    await loaded.close()
                await database.dispose()

    def end_calls() -> None:
        if phone is not None:
            phone.end_calls()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.end_calls = end_calls

    @app.get("/", include_in_schema=False)
    async def web_phone_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.websocket("/ws")
    async def web_phone_call(websocket: WebSocket) -> None:
        await websocket.accept()
        if phone is None:
            await websocket.send_json(
                {"type": "error", "message": f"the {stack.name.value} stack has no web phone"}
            )
            await websocket.close()
            return
        await phone.handle(StarletteSocket(websocket))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
