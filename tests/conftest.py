"""Shared fixtures. Each group is self-contained; fixtures of other groups go below it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import make_engine, migrate
from store.embedded import start_embedded_postgres, stop_embedded_postgres

# --- PostgreSQL: one embedded server for the whole session, migrated to head ---------------
# Tests share the database and stay independent by using fresh ids and contacts (uuid4),
# never by truncating tables (the audit trail cannot be truncated anyway).


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a migrated, session-wide embedded PostgreSQL."""
    data_dir = tmp_path_factory.mktemp("postgres") / "pgdata"
    url = start_embedded_postgres(data_dir)
    try:
        migrate(url)
        yield url
    finally:
        stop_embedded_postgres(data_dir)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def store_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An async engine on `postgres_url`, shared by the session."""
    engine = make_engine(postgres_url)
    yield engine
    await engine.dispose()
