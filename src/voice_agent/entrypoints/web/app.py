"""The HTTP server process: the API, and the agent's web phone (`/` and `/ws`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dependency_injector import providers
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr, ValidationError

from voice_agent.adapters.observability.masking import SECRET_KEYS, mask_phone
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.adapters.web.limits import WebPhoneLimits, excerpt
from voice_agent.adapters.web.starlette_socket import StarletteSocket
from voice_agent.adapters.web.transport import MAX_FRAME_BYTES
from voice_agent.application.ports.webhook import WebhookVerifier
from voice_agent.entrypoints.bootstrap.container import Container, resolved, shut_down
from voice_agent.entrypoints.bootstrap.env_catalog import describe_settings_error
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health, HealthChecker, Probe
from voice_agent.entrypoints.bootstrap.settings import Settings, WebPhoneSettings
from voice_agent.entrypoints.bootstrap.stack import StackChoice
from voice_agent.entrypoints.web.api import ApiDependencies, create_app
from voice_agent.entrypoints.web.guard import (
    TOKEN_TTL_S,
    CallTokens,
    OriginPolicy,
    WebPhoneGate,
    bearer,
)
from voice_agent.entrypoints.web.phone import WebPhone

STATIC = Path(__file__).parent / "static"
POLICY_VIOLATION = 1008
log = logging.getLogger(__name__)


def config_status(settings: Settings, stack: StackChoice) -> dict[str, Any]:
    """Each setting group: valid / missing / invalid, with secrets masked."""
    keys = settings.provider_keys
    missing = keys.missing()
    return {
        "stack": {"active": stack.name.value, "reason": stack.reason},
        "groups": {
            "engine": {"state": "valid", "values": _engine_values(settings)},
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
                    "system_prompt_file": settings.system_prompt_file.name,
                    "greeting": settings.greeting,
                    "web_phone_max_calls": settings.web_phone_max_calls,
                },
            },
        },
    }


def _engine_values(settings: Settings) -> dict[str, Any]:
    values = settings.engine.model_dump()
    if values.get("transfer_destination"):
        values["transfer_destination"] = mask_phone(values["transfer_destination"])
    return values


def _mask(value: SecretStr | None) -> str | None:
    return None if value is None else "***"


def _mask_url(url: str) -> str:
    """Hide a password in a database URL: in its credentials, or in its query string
    (`?password=...`, as asyncpg accepts)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        url = f"{scheme}://{user}:***@{host}"
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (name, "***" if SECRET_KEYS.search(name) or "pass" in name.lower() else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def web_phone_limits(settings: WebPhoneSettings) -> WebPhoneLimits:
    return WebPhoneLimits(
        max_control_bytes=settings.max_control_bytes,
        max_protocol_errors=settings.max_protocol_errors,
        realtime_factor=settings.realtime_factor,
        audio_burst_s=settings.audio_burst_s,
        max_dropped_audio_s=settings.max_dropped_audio_s,
        dtmf_per_second=settings.dtmf_per_second,
        dtmf_burst=settings.dtmf_burst,
        outgoing_frames=settings.outgoing_frames,
    )


def websocket_max_bytes(settings: Settings) -> int:
    """The largest WebSocket message the server reads at all (uvicorn's `ws_max_size`):
    an audio frame or a control message, with room to spare; larger ones close the socket
    before they are buffered."""
    return max(MAX_FRAME_BYTES, 4 * settings.web_phone.max_control_bytes) + 1024


def web_phone_gate(settings: Settings, *, public: bool) -> WebPhoneGate:
    """The handshake checks; a public bind without `API_KEY` is refused here too."""
    if public and settings.api_key is None:
        raise SystemExit(
            "the server is bound to a non-loopback address: set API_KEY, which callers on "
            "the network then need (see the README's web phone section)"
        )
    try:
        origins = OriginPolicy.create(settings.origins, public=public)
    except ValueError as error:
        raise SystemExit(f"invalid configuration: {error}") from None
    key = settings.api_key.get_secret_value() if settings.api_key else None
    return WebPhoneGate(origins, CallTokens(key) if key else None)


def livekit_webhook(settings: Settings) -> WebhookVerifier | None:
    """The webhook's signature check, with the LiveKit key and secret (None without them).
    Imported only then: the LiveKit SDK is an extra (`voice-agent[livekit]`)."""
    if settings.livekit_api_key is None or settings.livekit_api_secret is None:
        return None
    from voice_agent.adapters.livekit.webhook import LiveKitWebhookVerifier

    return LiveKitWebhookVerifier(
        settings.livekit_api_key.get_secret_value(),
        settings.livekit_api_secret.get_secret_value(),
    )


def health_checker(
    database: Database | None, stack: StackChoice, stages: Mapping[str, Probe] | None = None
) -> HealthChecker:
    """`stages`: the loaded stack's probes for stt, llm and tts (breakers on the cloud stack,
    model workers on the local one); without them (the fake stack) they report its name."""

    async def database_probe() -> ComponentHealth:
        if database is None:
            return ComponentHealth(Health.HEALTHY, "in memory")
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


def create_server_app(
    settings: Settings | None = None, *, public: bool = False, container: Container | None = None
) -> FastAPI:
    """The app uvicorn serves: opens the call store at start-up (refusing a schema that is
    behind, closing calls a dead process left active), loads the stack's models, and at
    shutdown ends the calls in progress (`server_shutdown`), then closes the stack and the
    store. `public`: bound to a non-loopback address (callers need a token). The wiring
    comes from `container` (a new `Container` by default), with `settings` in it.

    `app.state.end_calls()` ends every call in progress at once: `run_server` calls it on
    SIGTERM, before uvicorn closes the WebSockets."""
    try:
        settings = settings or Settings()
    except ValidationError as error:
        raise SystemExit(describe_settings_error(error)) from None
    gate = web_phone_gate(settings, public=public)
    container = container or Container()
    container.settings.override(providers.Object(settings))
    stack_choice = container.stack_choice()
    metrics = PrometheusMetrics()
    phone: WebPhone | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal phone
        try:
            store = await resolved(container.call_store())
            stack = await resolved(container.stack())
            if stack.breakers is not None:
                metrics.watch_breakers(stack.breakers)
            if stack.web_phone:
                phone = WebPhone(
                    await resolved(container.runner()),
                    stack.name.value,
                    limits=web_phone_limits(settings.web_phone),
                    start_timeout_s=settings.web_phone.start_timeout_s,
                    sinks=[metrics],
                )
            api = create_app(
                ApiDependencies(
                    repository=store.repository,
                    metrics=metrics,
                    health=health_checker(store.database, stack_choice, stack.probes),
                    config_status=lambda: config_status(settings, stack_choice),
                    api_key=settings.api_key.get_secret_value() if settings.api_key else None,
                    livekit_webhook=livekit_webhook(settings),
                )
            )
            app.mount("/", api)
            yield
        finally:
            try:
                if phone is not None:
                    await phone.runner.shutdown(settings.shutdown_grace_s)
            finally:
                await shut_down(container)

    def end_calls() -> None:
        if phone is not None:
            phone.runner.end_calls()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.end_calls = end_calls

    @app.get("/", include_in_schema=False)
    async def web_phone_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.post("/ws-token", include_in_schema=False)
    async def web_phone_token(request: Request) -> JSONResponse:
        """A short-lived token for `/ws` (null when the server does not need one); on a
        public bind it takes the API key as a bearer token."""
        refusal = gate.origins.refusal(
            request.headers.get("origin"),
            request.headers.get("host"),
            secure=request.url.scheme == "https",
        )
        if refusal is not None:
            _log_refusal(refusal, request.headers.get("origin"))
            return JSONResponse({"detail": "this origin may not use the web phone"}, 403)
        if not gate.token_required:
            return JSONResponse({"token": None})
        key = bearer(request.headers)
        if gate.tokens is None or key is None or not gate.tokens.is_api_key(key):
            return JSONResponse(
                {"detail": "this web phone needs the server's API key"},
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return JSONResponse({"token": gate.tokens.mint(), "expires_in_s": TOKEN_TTL_S})

    @app.websocket("/ws")
    async def web_phone_call(websocket: WebSocket) -> None:
        refusal = gate.refusal(websocket.headers, secure=websocket.url.scheme == "wss")
        if refusal is not None:
            _log_refusal(refusal, websocket.headers.get("origin"))
            await websocket.close(POLICY_VIOLATION)  # before accepting: HTTP 403
            return
        await websocket.accept(subprotocol=gate.subprotocol(websocket.headers))
        if phone is None:
            await websocket.send_json(
                {
                    "type": "error",
                    "message": f"the {stack_choice.name.value} stack has no web phone",
                }
            )
            await websocket.close()
            return
        await phone.handle(StarletteSocket(websocket))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _log_refusal(reason: str, origin: str | None) -> None:
    log.warning("web phone refused: %s (origin %s)", reason, excerpt(origin, 60))
