"""Each call's answer time: from the line offered to joined, and to the agent's first audio.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("answer_joined_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("answer_ms", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("answer_ms")
        batch.drop_column("answer_joined_ms")
