"""Keyed steps count their attempts refused as "not applied, try again" (the next attempt's
update id comes from the store, not from a question to Temporal); a step has a row before it
is applied.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "step_outcomes",
        sa.Column("refused_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.alter_column("step_outcomes", "outcome", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM step_outcomes WHERE outcome IS NULL")
    op.alter_column("step_outcomes", "outcome", nullable=False)
    op.drop_column("step_outcomes", "refused_attempts")
