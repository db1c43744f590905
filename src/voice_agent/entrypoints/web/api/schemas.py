"""Response models of the HTTP API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from voice_agent.domain.call import Call, EndReason
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.moments import as_utc
from voice_agent.domain.room_events import RoomEvent
from voice_agent.domain.turn import Turn

_UNENCODED_PLUS_OFFSET = re.compile(r"(\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def _plus_offset(value: object) -> object:
    """A `+05:30` offset sent unencoded in a query string arrives as ` 05:30`: read it back."""
    if isinstance(value, str):
        return _UNENCODED_PLUS_OFFSET.sub(r"\1+\2", value.strip(), count=1)
    return value


Instant = Annotated[datetime, BeforeValidator(_plus_offset), AfterValidator(as_utc)]
"""An ISO 8601 date-time in any offset, converted to UTC; without an offset it is UTC."""


class LatencyOut(BaseModel):
    eou: float | None
    stt: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    e2e: float | None


class TurnOut(BaseModel):
    index: int
    role: str
    text: str
    heard_text: str | None
    interrupted: bool
    started_at: datetime
    ended_at: datetime | None
    latency_ms: LatencyOut

    @classmethod
    def of(cls, turn: Turn) -> TurnOut:
        return cls(
            index=turn.index,
            role=turn.role.value,
            text=turn.text,
            heard_text=turn.heard_text,
            interrupted=turn.interrupted,
            started_at=turn.started_at,
            ended_at=turn.ended_at,
            latency_ms=LatencyOut(**turn.latency.as_dict()),
        )


class EventOut(BaseModel):
    kind: str
    at: float
    data: dict[str, Any]


class AnswerOut(BaseModel):
    joined_ms: float = Field(
        description="From the line offered (a LiveKit job assigned to the worker, a web "
        "phone's start) to the agent on the line (LiveKit: room joined, the caller's audio "
        "there; the web phone: 0)."
    )
    first_audio_ms: float | None = Field(
        description="From the line offered to the agent's first audible audio sent to the "
        "caller (what the caller hears first); null if the agent has not spoken."
    )


class CallSummary(BaseModel):
    id: str
    caller_number: str | None
    status: str
    end_reason: EndReason | None = Field(
        description="Why the call ended: caller_hung_up, agent_ended, goodbye, "
        "silence_timeout, max_duration, transferred, error (a provider failed), "
        "internal_error (a bug in the agent), cancelled, server_shutdown (the server was "
        "stopped during the call), client_limit (the caller's client broke a web phone limit "
        "and was cut off), process_died (found active after a crash); null while "
        "the call is active."
    )
    started_at: datetime
    ended_at: datetime | None
    answer: AnswerOut | None = Field(
        description="How fast the call was answered; null for calls stored before it was measured."
    )

    @classmethod
    def of(cls, call: Call) -> CallSummary:
        return cls(
            id=call.id,
            caller_number=call.caller_number,
            status=call.status.value,
            end_reason=call.end_reason,
            started_at=call.started_at,
            ended_at=call.ended_at,
            answer=(
                None
                if call.answer is None
                else AnswerOut(
                    joined_ms=call.answer.joined_ms, first_audio_ms=call.answer.first_audio_ms
                )
            ),
        )


class CallDetail(CallSummary):
    turns: list[TurnOut]
    interruptions: int
    events: list[EventOut]


class CallList(BaseModel):
    total: int
    limit: int
    offset: int
    calls: list[CallSummary]


class RoomEventOut(BaseModel):
    id: str = Field(description="LiveKit's event id (a retried delivery has the same).")
    type: str = Field(
        description="room_started, room_finished, participant_joined, participant_left or "
        "participant_connection_aborted."
    )
    room_name: str
    created_at: datetime = Field(description="When LiveKit created the event (UTC).")
    participant_identity: str | None
    participant_kind: str | None = Field(description="sip, agent, standard...")
    sip_call_id: str | None = Field(description="A phone caller's SIP Call-ID.")
    phone_number: str | None = Field(description="A phone caller's number, as the carrier gave it.")

    @classmethod
    def of(cls, event: RoomEvent) -> RoomEventOut:
        return cls(
            id=event.id,
            type=event.type.value,
            room_name=event.room_name,
            created_at=event.created_at,
            participant_identity=event.participant_identity,
            participant_kind=event.participant_kind,
            sip_call_id=event.sip_call_id,
            phone_number=event.phone_number,
        )


class RoomEventList(BaseModel):
    total: int
    limit: int
    offset: int
    events: list[RoomEventOut]


class WebhookAnswer(BaseModel):
    id: str | None
    status: str = Field(
        description="recorded (stored now), duplicate (stored before: a retried delivery) or "
        "ignored (a LiveKit event that is not audited, e.g. track_published)."
    )


class ComponentOut(BaseModel):
    status: str
    detail: str


class HealthOut(BaseModel):
    status: str
    components: dict[str, ComponentOut]


def event_out(event: DomainEvent) -> EventOut:
    data = {
        name: _plain(getattr(event, name))
        for name in getattr(event, "__dataclass_fields__", {})
        if name not in ("call_id", "at")
    }
    return EventOut(kind=type(event).__name__, at=event.at, data=data)


def _plain(value: object) -> Any:
    if hasattr(value, "value"):
        return value.value
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
