"""Connections to the account store: engines whose every call has a deadline, and migrations.

The store is used from async code (activities, the API) through `make_engine`. Migrations run
synchronously through Alembic's API (`migrate`), with the scripts in `store/migrations`, so
they work from any working directory and need no alembic.ini.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"

CONNECT_TIMEOUT = timedelta(seconds=10)
STATEMENT_TIMEOUT = timedelta(seconds=15)
# A transaction left open by a bug would hold row locks forever; the server ends it instead.
IDLE_IN_TRANSACTION_TIMEOUT = timedelta(minutes=1)


def sqlalchemy_url(url: str) -> str:
    """`url` with the psycopg 3 driver: `postgresql://` and `postgres://` become
    `postgresql+psycopg://`; a URL that already names a driver is returned unchanged."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def connect_args(statement_timeout: timedelta | None = STATEMENT_TIMEOUT) -> dict[str, Any]:
    """psycopg connection arguments: a connect timeout, UTC, and server-side time limits."""
    options = ["-c timezone=UTC"]
    if statement_timeout is not None:
        options += [
            f"-c statement_timeout={_ms(statement_timeout)}",
            f"-c idle_in_transaction_session_timeout={_ms(IDLE_IN_TRANSACTION_TIMEOUT)}",
        ]
    return {
        "connect_timeout": int(CONNECT_TIMEOUT.total_seconds()),
        "options": " ".join(options),
    }


def _ms(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1000)


def make_engine(
    url: str,
    *,
    statement_timeout: timedelta = STATEMENT_TIMEOUT,
    pool_size: int = 5,
    max_overflow: int = 10,
) -> AsyncEngine:
    """An async engine (psycopg 3) for `url`, keeping up to `pool_size` connections open and
    `max_overflow` more while busy. Connecting gives up after `CONNECT_TIMEOUT`, waiting for a
    pooled connection after the same time, and the server cancels any statement running
    longer than `statement_timeout`. Dispose of it with `await engine.dispose()`."""
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=CONNECT_TIMEOUT.total_seconds(),
        # Errors must not carry bound values (names, phones) into logs or workflow histories.
        hide_parameters=True,
        connect_args=connect_args(statement_timeout),
    )


def alembic_config(url: str) -> Config:
    """Alembic configuration for the database at `url`, for `alembic.command` functions
    (e.g. `command.revision(alembic_config(url), autogenerate=True, message=...)`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not an option: ini interpolation would mangle '%' in passwords.
    config.attributes["url"] = sqlalchemy_url(url)
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema at `url` to `revision`. Safe to call from several processes at once
    (they take turns on an advisory lock) and when the schema is already current. Blocking:
    from async code, run it with `asyncio.to_thread`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the schema at `url` to `revision`; `base` drops every table and its data."""
    command.downgrade(alembic_config(url), revision)
