"""Clerk accounts, console sessions and what staff did (`staff_events`); indexes for the
clerk's desk.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clerk_accounts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("service_center_id", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        # Encrypted with a key derived from the token pepper; never in clear.
        sa.Column("totp_secret", sa.Text(), nullable=False),
        sa.Column("last_totp_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_clerk_accounts"),
        sa.UniqueConstraint("login", name="uq_clerk_accounts_login"),
        sa.CheckConstraint("login = lower(login)", name="ck_clerk_accounts_login_lower_case"),
    )

    op.create_table(
        "clerk_sessions",
        # Keyed hash only: the session id is in the clerk's browser and nowhere else.
        sa.Column("id_hash", sa.Text(), nullable=False),
        sa.Column("clerk_id", sa.Text(), nullable=False),
        sa.Column("clerk_name", sa.Text(), nullable=False),
        sa.Column("service_center_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_timeout", sa.Interval(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_clerk_sessions"),
    )
    op.create_index("ix_clerk_sessions_clerk_id", "clerk_sessions", ["clerk_id"])

    op.create_table(
        "staff_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("service_center_id", sa.Text(), nullable=True),
        sa.Column("registration_id", sa.Text(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_events"),
    )
    op.create_index("ix_staff_events_actor", "staff_events", ["actor"])
    op.create_index("ix_staff_events_registration_id", "staff_events", ["registration_id"])
    # Evidence, like the audit trail: once written, a line can be neither changed nor removed.
    # The function names its table, so another append-only table can use it as it is.
    op.execute(
        """
        CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for trigger, when, each in (
        ("no_update_or_delete", "UPDATE OR DELETE", "ROW"),
        ("no_truncate", "TRUNCATE", "STATEMENT"),
    ):
        op.execute(
            f"CREATE TRIGGER staff_events_{trigger} BEFORE {when} ON staff_events "
            f"FOR EACH {each} EXECUTE FUNCTION append_only()"
        )

    # The clerk's desk: a person found by passport, and a service center's day.
    op.create_index(
        "ix_accounts_passport",
        "accounts",
        [sa.text("(profile ->> 'passport_series')"), sa.text("(profile ->> 'passport_number')")],
    )
    op.create_index(
        "ix_audit_events_service_center",
        "audit_events",
        [sa.text("(details ->> 'service_center_id')"), "recorded_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_service_center", table_name="audit_events")
    op.drop_index("ix_accounts_passport", table_name="accounts")
    op.drop_table("staff_events")
    op.execute("DROP FUNCTION append_only()")
    op.drop_table("clerk_sessions")
    op.drop_table("clerk_accounts")
