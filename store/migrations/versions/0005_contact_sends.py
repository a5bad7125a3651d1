"""Codes sent to each contact, counted across registrations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_sends",
        sa.Column("registration_id", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        # Keyed digests (registration.codes), never a number or an address.
        sa.Column("contact_key", sa.Text(), nullable=False),
        sa.Column("range_key", sa.Text(), nullable=True),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        # One row per (registration, code number): a retried send never counts twice.
        sa.PrimaryKeyConstraint("registration_id", "sequence", name="pk_contact_sends"),
    )
    # Each budget counts its newest sends: per contact, per number range, over all.
    op.create_index(
        "ix_contact_sends_contact_key_sent_at", "contact_sends", ["contact_key", "sent_at"]
    )
    op.create_index("ix_contact_sends_range_key_sent_at", "contact_sends", ["range_key", "sent_at"])
    op.create_index("ix_contact_sends_sent_at", "contact_sends", ["sent_at"])


def downgrade() -> None:
    op.drop_table("contact_sends")
