"""Audit records of the LiveKit server's room and participant events (its webhook).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "livekit_events",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("room_name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("participant_identity", sa.String(255), nullable=True),
        sa.Column("participant_kind", sa.String(32), nullable=True),
        sa.Column("sip_call_id", sa.String(255), nullable=True),
        sa.Column("phone_number", sa.String(64), nullable=True),
    )
    op.create_index("ix_livekit_events_created_at", "livekit_events", ["created_at"])
    op.create_index("ix_livekit_events_room_created", "livekit_events", ["room_name", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_livekit_events_room_created", table_name="livekit_events")
    op.drop_index("ix_livekit_events_created_at", table_name="livekit_events")
    op.drop_table("livekit_events")
