"""Audit records of what the telephony server reports about its rooms and their participants
(who joined which call room, when it started and finished), kept apart from the calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class RoomEventType(Enum):
    """The room and participant events that are audited."""

    ROOM_STARTED = "room_started"
    ROOM_FINISHED = "room_finished"
    PARTICIPANT_JOINED = "participant_joined"
    PARTICIPANT_LEFT = "participant_left"
    PARTICIPANT_CONNECTION_ABORTED = "participant_connection_aborted"
    """The participant's connection dropped without it leaving."""


MAX_LENGTHS = {
    "id": 128,
    "room_name": 255,
    "participant_identity": 255,
    "participant_kind": 32,
    "sip_call_id": 255,
    "phone_number": 64,
}
"""The longest text each field takes (the store's columns are this wide)."""


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One event as the server reported it. `id` is the server's own: a delivery retried
    (same id) is the same event. The participant fields are None for room events;
    `sip_call_id` and `phone_number` only for a phone caller (`participant_kind` "sip"):
    the SIP Call-ID, to match the carrier's records, and the caller's number as the carrier
    gave it (stored as calls store theirs; logs mask it)."""

    id: str
    type: RoomEventType
    room_name: str
    created_at: datetime
    """When the server created the event, in UTC."""
    participant_identity: str | None = None
    participant_kind: str | None = None
    """"standard", "sip", "agent", "ingress", "egress"... as the server names it."""
    sip_call_id: str | None = None
    phone_number: str | None = None

    def __post_init__(self) -> None:
        for name, longest in MAX_LENGTHS.items():
            value = getattr(self, name)
            if value is not None and len(value) > longest:
                raise ValueError(f"{name} is longer than {longest} characters")
