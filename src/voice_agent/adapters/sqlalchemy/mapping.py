"""Rows <-> domain objects, and domain events <-> JSON payloads."""

from __future__ import annotations

import dataclasses
import enum
import typing
from datetime import datetime
from typing import Any

from voice_agent.adapters.sqlalchemy.tables import (
    CallEventRow,
    CallOwnerRow,
    CallRow,
    LiveKitEventRow,
    TurnRow,
)
from voice_agent.domain import events as domain_events
from voice_agent.domain.call import AnswerTime, Call, CallOwner, CallStatus, EndReason
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.room_events import RoomEvent, RoomEventType
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn
from voice_agent.domain.usage import ProviderUsage


def call_to_row(call: Call, row: CallRow | None = None, *, owner: str | None = None) -> CallRow:
    """`owner`: the owner to store when the call names none."""
    row = row or CallRow(id=call.id)
    row.caller_number = call.caller_number
    row.started_at = call.started_at  # UtcDateTime columns store the instant in UTC
    row.ended_at = call.ended_at
    row.status = call.status.value
    row.end_reason = call.end_reason.value if call.end_reason else None
    row.cost_usd = call.cost_usd
    row.usage = [dataclasses.asdict(u) for u in call.usage] if call.usage else None
    row.owner_id = call.owner or owner
    row.answer_joined_ms = call.answer.joined_ms if call.answer else None
    row.answer_ms = call.answer.first_audio_ms if call.answer else None
    return row


def row_to_call(row: CallRow) -> Call:
    return Call(
        id=row.id,
        caller_number=row.caller_number,
        started_at=row.started_at,
        ended_at=row.ended_at,
        status=CallStatus(row.status),
        end_reason=EndReason(row.end_reason) if row.end_reason else None,
        cost_usd=row.cost_usd,
        usage=tuple(ProviderUsage(**u) for u in row.usage or ()),
        owner=row.owner_id,
        answer=(
            None
            if row.answer_joined_ms is None
            else AnswerTime(joined_ms=row.answer_joined_ms, first_audio_ms=row.answer_ms)
        ),
    )


def owner_from_row(row: CallOwnerRow) -> CallOwner:
    return CallOwner(id=row.id, host=row.host, pid=row.pid, heartbeat_at=row.heartbeat_at)


def room_event_values(event: RoomEvent) -> dict[str, Any]:
    """The `livekit_events` columns of `event` (for an insert statement)."""
    return {
        "event_id": event.id,
        "event_type": event.type.value,
        "room_name": event.room_name,
        "created_at": event.created_at,  # a UtcDateTime column: stored in UTC
        "participant_identity": event.participant_identity,
        "participant_kind": event.participant_kind,
        "sip_call_id": event.sip_call_id,
        "phone_number": event.phone_number,
    }


def row_to_room_event(row: LiveKitEventRow) -> RoomEvent:
    return RoomEvent(
        id=row.event_id,
        type=RoomEventType(row.event_type),
        room_name=row.room_name,
        created_at=row.created_at,
        participant_identity=row.participant_identity,
        participant_kind=row.participant_kind,
        sip_call_id=row.sip_call_id,
        phone_number=row.phone_number,
    )


def turn_to_row(call_id: str, turn: Turn, row: TurnRow | None = None) -> TurnRow:
    row = row or TurnRow(id=turn.id)
    row.call_id = call_id
    row.turn_index = turn.index
    row.role = turn.role.value
    row.text = turn.text
    row.heard_text = turn.heard_text
    row.interrupted = turn.interrupted
    row.started_at = turn.started_at
    row.ended_at = turn.ended_at
    latency = turn.latency
    row.eou_ms = latency.eou_ms
    row.stt_ms = latency.stt_ms
    row.llm_ttft_ms = latency.llm_ttft_ms
    row.tts_ttfb_ms = latency.tts_ttfb_ms
    row.e2e_ms = latency.e2e_ms
    return row


def row_to_turn(row: TurnRow) -> Turn:
    return Turn(
        id=row.id,
        role=Role(row.role),
        text=row.text,
        heard_text=row.heard_text,
        interrupted=row.interrupted,
        index=row.turn_index,
        started_at=row.started_at,
        ended_at=row.ended_at,
        latency=LatencyBreakdown(
            eou_ms=row.eou_ms,
            stt_ms=row.stt_ms,
            llm_ttft_ms=row.llm_ttft_ms,
            tts_ttfb_ms=row.tts_ttfb_ms,
            e2e_ms=row.e2e_ms,
        ),
    )


def event_to_row(event: DomainEvent) -> CallEventRow:
    payload = {
        f.name: _encode(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if f.name not in ("call_id", "at")
    }
    return CallEventRow(
        call_id=event.call_id, kind=type(event).__name__, at=event.at, payload=payload
    )


def row_to_event(row: CallEventRow) -> DomainEvent:
    kind = getattr(domain_events, row.kind, None)
    if not (isinstance(kind, type) and issubclass(kind, DomainEvent)):
        raise ValueError(f"unknown call event kind {row.kind!r} in the database")
    hints = typing.get_type_hints(kind, vars(domain_events))
    values = {name: _decode(hints[name], value) for name, value in row.payload.items()}
    return kind(call_id=row.call_id, at=row.at, **values)


def _encode(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        nested = typing.get_type_hints(hint)
        return hint(**{k: _decode(nested[k], v) for k, v in value.items()})
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_decode(item, v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    return value
