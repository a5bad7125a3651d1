"""Where the store's database comes from, and how its schema is built: the migrations build
the schema the models describe, and can be undone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import store.access  # noqa: F401 - its tables are on Base.metadata too
from settings import Settings
from store import (
    clerks,  # noqa: F401 - its tables are on Base.metadata too
    idempotency,  # noqa: F401 - its table is on Base.metadata too
    sends,  # noqa: F401 - its table is on Base.metadata too
    staff_sessions,  # noqa: F401 - its table is on Base.metadata too
)
from store.db import downgrade, migrate, sqlalchemy_url
from store.embedded import database_url, start_embedded_postgres, stop_embedded_postgres
from store.schema import Base

TABLES = {
    "accounts",
    "registrations",
    "audit_events",
    "api_clients",
    "rate_limits",
    "idempotency_keys",
    "contact_sends",
    "staff_sessions",
    "registration_sessions",
    "step_outcomes",
    "password_links",
    "clerk_accounts",
    "clerk_sessions",
    "staff_events",
}


@pytest.fixture
def empty_database_url(postgres_url: str) -> Iterator[str]:
    """A brand-new database on the session's server, dropped afterwards."""
    name = f"migrations_{uuid.uuid4().hex}"
    admin = create_engine(postgres_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_build_every_table_on_an_empty_database(empty_database_url: str) -> None:
    assert _tables(empty_database_url) == set()

    migrate(empty_database_url)

    assert _tables(empty_database_url) == TABLES


def test_migrating_twice_changes_nothing(empty_database_url: str) -> None:
    migrate(empty_database_url)
    migrate(empty_database_url)

    assert _tables(empty_database_url) == TABLES


def test_downgrade_to_base_drops_everything_and_upgrade_rebuilds_it(
    empty_database_url: str,
) -> None:
    migrate(empty_database_url)

    downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) == set()

    migrate(empty_database_url)
    assert _tables(empty_database_url) == TABLES


def test_models_agree_with_the_migrations(postgres_url: str) -> None:
    engine = _engine(postgres_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()

    assert differences == []


# --- where the database comes from ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p%40ss@db:5432/gosreg", "postgresql+psycopg://u:p%40ss@db:5432/gosreg"),
        ("postgres://u:p@db/gosreg", "postgresql+psycopg://u:p@db/gosreg"),
        ("postgresql+psycopg://u:p@db/gosreg", "postgresql+psycopg://u:p@db/gosreg"),
    ],
)
def test_urls_are_given_the_psycopg_driver(given: str, used: str) -> None:
    assert sqlalchemy_url(given) == used


def test_a_configured_database_is_used_instead_of_the_embedded_one(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://u:p@db/gosreg", data_dir=tmp_path)

    assert database_url(settings) == "postgresql+psycopg://u:p@db/gosreg"
    assert not (tmp_path / "postgres").exists()


def test_the_embedded_server_stops_when_its_handle_is_released(tmp_path: Path) -> None:
    url = database_url(Settings(database_url=None, data_dir=tmp_path / "devstack"))
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1

        stop_embedded_postgres(tmp_path / "devstack" / "postgres")

        with pytest.raises(OperationalError), engine.connect():
            pass
        # The data directory survives: starting again finds it initialised.
        assert start_embedded_postgres(tmp_path / "devstack" / "postgres") == url
    finally:
        engine.dispose()
        stop_embedded_postgres(tmp_path / "devstack" / "postgres")
