"""Registrations made at a service-center counter: their origin, center and clerk; accounts
without a password until the citizen sets it; one-time password links.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "registrations",
        sa.Column("origin", sa.Text(), server_default="portal", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_registrations_origin"), "registrations", "origin IN ('portal', 'service_center')"
    )
    op.add_column("registrations", sa.Column("service_center_id", sa.Text(), nullable=True))
    op.add_column("registrations", sa.Column("clerk_id", sa.Text(), nullable=True))
    op.create_index(
        op.f("ix_registrations_service_center_created"),
        "registrations",
        ["service_center_id", "created_at"],
    )
    op.alter_column("accounts", "password_hash", existing_type=sa.Text(), nullable=True)
    op.create_table(
        "password_links",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("registration_id", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.registration_id"],
            name=op.f("fk_password_links_registration_id_registrations"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_password_links")),
        sa.UniqueConstraint(
            "registration_id", "sequence", name=op.f("uq_password_links_registration_id_sequence")
        ),
    )


def downgrade() -> None:
    op.drop_table("password_links")
    op.alter_column("accounts", "password_hash", existing_type=sa.Text(), nullable=False)
    op.drop_index(op.f("ix_registrations_service_center_created"), table_name="registrations")
    op.drop_column("registrations", "clerk_id")
    op.drop_column("registrations", "service_center_id")
    op.drop_constraint(op.f("ck_registrations_origin"), "registrations", type_="check")
    op.drop_column("registrations", "origin")
