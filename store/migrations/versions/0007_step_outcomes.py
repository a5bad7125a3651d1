"""The answers of applied keyed steps, to answer their retries with.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_outcomes",
        sa.Column("registration_id", sa.Text(), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("outcome", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("registration_id", "step", name="pk_step_outcomes"),
    )
    # For pruning steps past the keys' lifetime.
    op.create_index("ix_step_outcomes_created_at", "step_outcomes", ["created_at"])


def downgrade() -> None:
    op.drop_table("step_outcomes")
