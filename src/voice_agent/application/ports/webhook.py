"""Reading the telephony server's signed event notifications (webhooks)."""

from __future__ import annotations

from typing import Protocol

from voice_agent.domain.room_events import RoomEvent


class WebhookRejected(Exception):
    """The delivery is not proven to come from our server (no or bad token, a body that is
    not the one signed, an expired token). Its message says which, and never quotes the
    token."""


class WebhookMalformed(Exception):
    """A signed delivery that cannot be read: not JSON, not an event, an event type that
    does not exist, or an event without its id or room."""


class WebhookVerifier(Protocol):
    def verify(self, body: bytes, authorization: str | None) -> RoomEvent | None:
        """The event in `body` once `authorization` (the request's `Authorization` header)
        proves that the server signed exactly this body; None for a genuine event that is
        not audited (tracks, recordings). Raises `WebhookRejected` before looking at the
        body's content, then `WebhookMalformed`."""
        ...
