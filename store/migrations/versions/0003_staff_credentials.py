"""Staff credentials that expire: token lifetimes and codec sign-in sessions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every existing token: it keeps working until rotated (`gosreg tokens rotate`).
    op.add_column("api_clients", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "staff_sessions",
        # Keyed hashes only: neither the session id nor the token is stored.
        sa.Column("id_hash", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("client_token_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_timeout", sa.Interval(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_staff_sessions"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name="fk_staff_sessions_client_id_api_clients"
        ),
    )


def downgrade() -> None:
    op.drop_table("staff_sessions")
    op.drop_column("api_clients", "expires_at")
