"""Alembic environment: run by `store.db.migrate` (or `alembic.command` with
`store.db.alembic_config(url)`), which passes the database URL as `config.attributes["url"]`.

Online only: the whole upgrade runs in one transaction (PostgreSQL has transactional DDL), so a
failed migration leaves the schema as it was.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import store.access  # noqa: F401 - its tables are on Base.metadata too
from store import (
    clerks,  # noqa: F401 - its tables are on Base.metadata too
    idempotency,  # noqa: F401 - its table is on Base.metadata too
    staff_sessions,  # noqa: F401 - its table is on Base.metadata too
)
from store.db import connect_args
from store.schema import Base

# Any constant will do, as long as only migrations use it: the worker and the API may both
# migrate on start-up, and the second must wait for the first rather than race it.
MIGRATION_LOCK_KEY = 0x6F5E_2E9B


def run_migrations() -> None:
    url = context.config.attributes.get("url")
    if context.is_offline_mode() or url is None:
        raise RuntimeError("run migrations through store.db.migrate(url)")
    # No statement timeout: a migration on a large table may legitimately take long.
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args(None))
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
