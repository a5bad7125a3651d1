"""Citizen sessions bound to registrations; password staging by attempt.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("registration_id", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("proven_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_registration_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_registration_sessions_registration_id"),
        "registration_sessions",
        ["registration_id"],
    )
    op.add_column("registrations", sa.Column("pending_password_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("registrations", "pending_password_id")
    op.drop_index(
        op.f("ix_registration_sessions_registration_id"), table_name="registration_sessions"
    )
    op.drop_table("registration_sessions")
