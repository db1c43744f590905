"""LiveKit's webhook: each delivery is a JSON `WebhookEvent` with an `Authorization` header
holding a JWT signed with the API secret of the key named in the server's `webhook.api_key`,
whose `sha256` claim is the body's hash. `WebhookReceiver` checks both; this module says
precisely which check failed and turns the event into an audit record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import jwt
from google.protobuf import json_format
from livekit import api
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent

from voice_agent.application.ports.webhook import WebhookMalformed, WebhookRejected
from voice_agent.domain.room_events import RoomEvent, RoomEventType

NOT_AUDITED = frozenset(
    {
        "track_published",
        "track_unpublished",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "ingress_started",
        "ingress_updated",
        "ingress_ended",
    }
)
"""LiveKit's other events: genuine, acknowledged, not stored."""
AUDITED = {kind.value: kind for kind in RoomEventType}
PARTICIPANT_EVENTS = frozenset(
    {
        RoomEventType.PARTICIPANT_JOINED,
        RoomEventType.PARTICIPANT_LEFT,
        RoomEventType.PARTICIPANT_CONNECTION_ABORTED,
    }
)
SIP_CALL_ID = "sip.callID"
SIP_PHONE_NUMBER = "sip.phoneNumber"

_TOKEN_FAULTS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the webhook token has expired"),
    (jwt.ImmatureSignatureError, "the webhook token is not valid yet (check the clocks)"),
    (jwt.InvalidSignatureError, "the webhook token is not signed with LIVEKIT_API_SECRET"),
    (jwt.InvalidIssuerError, "the webhook token is not issued for LIVEKIT_API_KEY"),
    (jwt.MissingRequiredClaimError, "the webhook token has no expiry"),
    (jwt.PyJWTError, "the Authorization header is not a LiveKit token"),
)
"""The first entry whose class matches says what is wrong with a token (most specific
first)."""


class LiveKitWebhookVerifier:
    """A `WebhookVerifier` for the server whose API key and secret are given (the ones in
    the LiveKit server's `keys`, named by its `webhook.api_key`). `now` gives the time
    recorded for an event that carries none."""

    def __init__(
        self, api_key: str, api_secret: str, *, now: Callable[[], datetime] | None = None
    ) -> None:
        self._receiver = api.WebhookReceiver(api.TokenVerifier(api_key, api_secret))
        self._now = now or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return "LiveKitWebhookVerifier()"

    def verify(self, body: bytes, authorization: str | None) -> RoomEvent | None:
        token = _token(authorization)
        # The receiver takes text and hashes its UTF-8 encoding. Bytes that are not UTF-8
        # are kept as surrogates (not replaced: two bodies would then share one hash), which
        # fail to encode once the token is verified: LiveKit signs only UTF-8 JSON.
        text = body.decode("utf-8", errors="surrogateescape")
        try:
            event = self._receiver.receive(text, token)
        except UnicodeEncodeError:
            raise WebhookRejected(
                "the body is not UTF-8, so not the one the webhook token was signed for"
            ) from None
        except json_format.Error as error:  # verified, then not readable
            raise WebhookMalformed(
                f"the webhook body is not a LiveKit event: {str(error)[:200]}"
            ) from None
        except jwt.PyJWTError as error:
            raise WebhookRejected(_token_fault(error)) from None
        except Exception as error:  # WebhookReceiver raises plain Exceptions for the hash
            raise WebhookRejected(_hash_fault(str(error))) from None
        return self._record(event)

    def _record(self, event: WebhookEvent) -> RoomEvent | None:
        if event.event in NOT_AUDITED:
            return None
        kind = AUDITED.get(event.event)
        if not event.event:
            raise WebhookMalformed("the webhook body names no event (its `event` field)")
        if kind is None:
            raise WebhookMalformed(
                f"unknown webhook event {event.event[:64]!r}: expected one of "
                + ", ".join(sorted([*AUDITED, *NOT_AUDITED]))
            )
        if not event.id:
            raise WebhookMalformed(f"the {event.event} event has no id")
        if not event.room.name:
            raise WebhookMalformed(f"the {event.event} event names no room")
        participant = event.participant
        if kind in PARTICIPANT_EVENTS and not participant.identity:
            raise WebhookMalformed(f"the {event.event} event names no participant")
        about_participant = kind in PARTICIPANT_EVENTS
        try:
            return RoomEvent(
                id=event.id,
                type=kind,
                room_name=event.room.name,
                created_at=self._created_at(event),
                participant_identity=participant.identity if about_participant else None,
                participant_kind=_kind_name(participant.kind) if about_participant else None,
                sip_call_id=participant.attributes.get(SIP_CALL_ID) or None,
                phone_number=participant.attributes.get(SIP_PHONE_NUMBER) or None,
            )
        except ValueError as error:  # a field longer than the store keeps
            raise WebhookMalformed(f"the {event.event} event's {error}") from None

    def _created_at(self, event: WebhookEvent) -> datetime:
        """The event's time (whole seconds); the time it arrived if it has none."""
        if not event.created_at:
            return self._now()
        try:
            return datetime.fromtimestamp(event.created_at, UTC)
        except (OverflowError, OSError, ValueError):
            raise WebhookMalformed(
                f"the {event.event} event's createdAt ({event.created_at}) is not a time"
            ) from None


def _token(authorization: str | None) -> str:
    """LiveKit sends the bare token; a `Bearer ` prefix is accepted too."""
    if authorization is None or not authorization.strip():
        raise WebhookRejected("missing Authorization header (LiveKit's signed token)")
    scheme, _, rest = authorization.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else authorization.strip()


def _token_fault(error: jwt.PyJWTError) -> str:
    return next(message for kind, message in _TOKEN_FAULTS if isinstance(error, kind))


def _hash_fault(message: str) -> str:
    if "mismatch" in message:
        return "the body is not the one the webhook token was signed for (sha256 mismatch)"
    if "sha256" in message:
        return "the webhook token carries no body hash (sha256 claim)"
    return "the webhook could not be verified"


def _kind_name(kind: int) -> str:
    """`sip`, `agent`, `standard`... (the number itself for a kind newer than this SDK)."""
    try:
        return ParticipantInfo.Kind.Name(kind).lower()
    except ValueError:
        return str(kind)
