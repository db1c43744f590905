"""Table definitions. The domain classes are not mapped: `mapping.py` converts rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from voice_agent.domain.moments import as_utc
from voice_agent.domain.room_events import MAX_LENGTHS as ROOM_EVENT_LENGTHS


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored and read back as UTC on every database. PostgreSQL's
    `timestamptz` keeps instants, but SQLite has no time zone type and SQLAlchemy writes the
    wall clock without its offset: 10:00+01:00 would come back as 10:00 UTC, and filters would
    compare wall clocks. So values are converted to UTC before they are bound (naive values
    are taken as UTC) and marked UTC when read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    pass


class CallRow(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    usage: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """Per provider: tokens, audio seconds, characters (see `domain.usage.ProviderUsage`)."""
    answer_joined_ms: Mapped[float | None] = mapped_column(Float)
    """From the line offered to the agent on it (see `domain.call.AnswerTime`)."""
    answer_ms: Mapped[float | None] = mapped_column(Float)
    """From the line offered to the agent's first audible audio."""
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The `call_owners` row of the process running the call (no foreign key: the owner row
    goes when its process stops, the call stays)."""


class CallOwnerRow(Base):
    """A process that runs calls, with its heartbeat (see `domain.call.CallOwner`)."""

    __tablename__ = "call_owners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TurnRow(Base):
    __tablename__ = "turns"
    __table_args__ = (Index("ix_turns_call_index", "call_id", "turn_index"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    turn_index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    heard_text: Mapped[str | None] = mapped_column(Text)
    interrupted: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    eou_ms: Mapped[float | None] = mapped_column(Float)
    stt_ms: Mapped[float | None] = mapped_column(Float)
    llm_ttft_ms: Mapped[float | None] = mapped_column(Float)
    tts_ttfb_ms: Mapped[float | None] = mapped_column(Float)
    e2e_ms: Mapped[float | None] = mapped_column(Float)


class CallEventRow(Base):
    __tablename__ = "call_events"
    __table_args__ = (Index("ix_call_events_call_at", "call_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class LiveKitEventRow(Base):
    """An audited room or participant event (see `domain.room_events.RoomEvent`). `seq`
    keeps the arrival order (the server's `created_at` has whole seconds only); `event_id`
    is unique, so a retried delivery is stored once."""

    __tablename__ = "livekit_events"
    __table_args__ = (Index("ix_livekit_events_room_created", "room_name", "created_at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(ROOM_EVENT_LENGTHS["id"]), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    room_name: Mapped[str] = mapped_column(String(ROOM_EVENT_LENGTHS["room_name"]))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    participant_identity: Mapped[str | None] = mapped_column(
        String(ROOM_EVENT_LENGTHS["participant_identity"])
    )
    participant_kind: Mapped[str | None] = mapped_column(
        String(ROOM_EVENT_LENGTHS["participant_kind"])
    )
    sip_call_id: Mapped[str | None] = mapped_column(String(ROOM_EVENT_LENGTHS["sip_call_id"]))
    phone_number: Mapped[str | None] = mapped_column(String(ROOM_EVENT_LENGTHS["phone_number"]))
