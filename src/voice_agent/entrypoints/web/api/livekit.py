"""`POST /livekit/webhook` (LiveKit's signed room and participant events, kept for audit) and
`GET /livekit/events` (what was kept)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, HTTPException, Query, Request, status

from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.webhook import (
    WebhookMalformed,
    WebhookRejected,
    WebhookVerifier,
)
from voice_agent.domain.room_events import MAX_LENGTHS
from voice_agent.entrypoints.web.api.schemas import RoomEventList, RoomEventOut, WebhookAnswer

MAX_WEBHOOK_BYTES = 1 << 20
"""The largest webhook body read (1 MiB). LiveKit's events are a few kilobytes; a
participant's metadata and attributes are capped at 64 kB each by the server's defaults."""
MAX_EVENTS_PAGE = 500
DISABLED = "LiveKit webhooks are disabled: set LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
log = structlog.get_logger(__name__)

WEBHOOK_BODY = {
    "required": True,
    "description": "LiveKit's `WebhookEvent` (protobuf JSON), signed by the JWT in the "
    "`Authorization` header (its `sha256` claim is this body's hash).",
    "content": {
        "application/webhook+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "event": {"type": "string", "example": "participant_joined"},
                    "id": {"type": "string"},
                    "createdAt": {"type": "string", "description": "seconds since the epoch"},
                    "room": {"type": "object", "properties": {"name": {"type": "string"}}},
                    "participant": {"type": "object"},
                },
            }
        }
    },
}
"""The body, as documented in the OpenAPI schema (read raw: its hash is checked)."""


def add_livekit_routes(
    app: FastAPI,
    *,
    repository: CallRepository,
    verifier: WebhookVerifier | None,
    authorized: Sequence[Any],
) -> None:
    """`verifier`: None when the LiveKit key and secret are not set; the webhook then answers
    503 (the URL is right but this server cannot check signatures: a 404 would send the
    operator looking for a wrong URL in livekit.yaml). `authorized`: the API key check
    `/livekit/events` needs, as for `/calls`."""

    @app.post(
        "/livekit/webhook",
        response_model=WebhookAnswer,
        tags=["livekit"],
        responses={
            400: {"description": "signed, but not a readable room or participant event"},
            401: {"description": "not signed by the LiveKit server (the reason is given)"},
            413: {"description": f"body over {MAX_WEBHOOK_BYTES} bytes"},
            503: {"description": "webhooks disabled, or the store is unavailable"},
        },
        openapi_extra={"requestBody": WEBHOOK_BODY},
    )
    async def livekit_webhook(request: Request) -> WebhookAnswer:
        if verifier is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, DISABLED)
        body = await _read_capped(request, MAX_WEBHOOK_BYTES)
        try:
            event = verifier.verify(body, request.headers.get("authorization"))
        except WebhookRejected as error:
            log.warning("livekit webhook refused", reason=str(error))
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
        except WebhookMalformed as error:
            log.warning("livekit webhook unreadable", reason=str(error))
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
        if event is None:
            return WebhookAnswer(id=None, status="ignored")
        try:
            stored = await repository.record_room_event(event)
        except ProviderUnavailable as error:
            log.warning("livekit webhook not stored", event_id=event.id, reason=str(error))
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the event store is unavailable: the delivery can be retried",
            ) from None
        log.info(
            "livekit webhook",
            event_id=event.id,
            type=event.type.value,
            room=event.room_name,  # the logging processor masks a number in it
            participant_kind=event.participant_kind,
            duplicate=not stored,
        )
        return WebhookAnswer(id=event.id, status="recorded" if stored else "duplicate")

    @app.get(
        "/livekit/events",
        response_model=RoomEventList,
        tags=["livekit"],
        dependencies=list(authorized),
    )
    async def livekit_events(
        room: Annotated[
            str | None, Query(max_length=MAX_LENGTHS["room_name"], description="exact room name")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> RoomEventList:
        page = await repository.room_events(room=room, limit=limit, offset=offset)
        return RoomEventList(
            total=page.total,
            limit=limit,
            offset=offset,
            events=[RoomEventOut.of(e) for e in page.events],
        )


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes: from its
    declared length, or while it streams in (chunked, or a length that lies)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the webhook body is over {limit} bytes"
    )
