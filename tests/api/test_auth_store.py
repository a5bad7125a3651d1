"""API clients and rate limits against a real PostgreSQL: tokens are kept only as keyed
hashes, revoked ones stop working, and counters hold across concurrent callers."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Row, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Principal, Role, new_token, token_hash
from store import access
from store.access import ApiClient, RateLimit

PEPPER = b"test-pepper"
HOUR = timedelta(hours=1)


async def _stored(engine: AsyncEngine, client_id: str) -> Row[Any]:
    """The client's row as the database keeps it."""
    async with engine.connect() as connection:
        result = await connection.execute(select(ApiClient).where(ApiClient.id == client_id))
        return result.one()


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


# --- tokens -------------------------------------------------------------------------------------


def test_a_new_token_is_prefixed_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(100)}

    assert len(tokens) == 100
    assert all(re.fullmatch(r"gsr_[A-Za-z0-9_-]{43}", token) for token in tokens)


def test_the_token_hash_is_an_hmac_that_depends_on_the_pepper() -> None:
    token = new_token()

    assert re.fullmatch(r"[0-9a-f]{64}", token_hash(PEPPER, token))
    assert token_hash(PEPPER, token) == token_hash(PEPPER, token)
    assert token_hash(PEPPER, token) != token_hash(b"another pepper", token)
    assert token_hash(PEPPER, token) != token_hash(PEPPER, new_token())


def test_a_principal_acts_under_its_client_id_and_keeps_its_name_out_of_repr() -> None:
    clerk = Principal(
        client_id="cl_abc", role=Role.CLERK, name="Анна Петрова", service_center_id="mfc-1"
    )

    assert clerk.actor == "clerk:cl_abc"
    assert "Анна" not in repr(clerk)


# --- clients ------------------------------------------------------------------------------------


async def test_a_created_token_authenticates_as_its_client(store_engine: AsyncEngine) -> None:
    created, token = await access.create_client(
        store_engine, PEPPER, Role.CLERK, "Анна Петрова", "mfc-77-001"
    )

    assert re.fullmatch(r"cl_[a-z0-9]{12}", created.client_id)
    assert await access.authenticate(store_engine, PEPPER, token) == created
    assert created == Principal(
        client_id=created.client_id,
        role=Role.CLERK,
        name="Анна Петрова",
        service_center_id="mfc-77-001",
    )


async def test_a_system_client_has_no_service_center(store_engine: AsyncEngine) -> None:
    created, token = await access.create_client(store_engine, PEPPER, Role.BANK, "Банк")

    principal = await access.authenticate(store_engine, PEPPER, token)

    assert principal == created
    assert principal.service_center_id is None
    assert principal.actor == f"bank:{created.client_id}"


async def test_unknown_and_malformed_tokens_authenticate_to_none(
    store_engine: AsyncEngine,
) -> None:
    _, token = await access.create_client(store_engine, PEPPER, Role.PORTAL, "Портал")

    assert await access.authenticate(store_engine, PEPPER, new_token()) is None
    assert await access.authenticate(store_engine, PEPPER, "") is None
    assert await access.authenticate(store_engine, PEPPER, token[:-1]) is None
    assert await access.authenticate(store_engine, PEPPER, token + "x") is None
    assert await access.authenticate(store_engine, PEPPER, token_hash(PEPPER, token)) is None


async def test_a_token_is_stored_only_as_its_peppered_hash(store_engine: AsyncEngine) -> None:
    created, token = await access.create_client(store_engine, PEPPER, Role.SUPPORT, "Поддержка")

    stored = await _stored(store_engine, created.client_id)

    assert token not in stored.token_hash
    assert token.removeprefix("gsr_") not in stored.token_hash
    assert stored.token_hash == token_hash(PEPPER, token)
    # The same token under another pepper is another hash: it finds nothing.
    assert await access.authenticate(store_engine, b"another pepper", token) is None


async def test_a_revoked_token_no_longer_authenticates(store_engine: AsyncEngine) -> None:
    created, token = await access.create_client(store_engine, PEPPER, Role.ESIGNATURE, "УЦ")
    _, other_token = await access.create_client(store_engine, PEPPER, Role.ESIGNATURE, "УЦ 2")

    assert await access.revoke_client(store_engine, created.client_id) is True

    assert await access.authenticate(store_engine, PEPPER, token) is None
    assert await access.authenticate(store_engine, PEPPER, other_token) is not None
    assert await access.revoke_client(store_engine, created.client_id) is False
    assert await access.revoke_client(store_engine, "cl_doesnotexist") is False


@pytest.mark.parametrize(
    ("role", "service_center_id"),
    [
        (Role.CLERK, None),
        (Role.CLERK, ""),
        (Role.CLERK, "  "),
        (Role.PORTAL, "mfc-77-001"),
        (Role.SUPPORT, "mfc-77-001"),
        (Role.BANK, ""),
    ],
)
async def test_only_a_clerk_has_a_service_center(
    store_engine: AsyncEngine, role: Role, service_center_id: str | None
) -> None:
    before = len(await access.list_clients(store_engine))

    with pytest.raises(ValueError, match="service center"):
        await access.create_client(store_engine, PEPPER, role, "Кто-то", service_center_id)

    assert len(await access.list_clients(store_engine)) == before


async def test_a_client_needs_a_name(store_engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="name"):
        await access.create_client(store_engine, PEPPER, Role.PORTAL, "  ")


async def test_the_database_refuses_a_clerk_without_a_service_center(
    store_engine: AsyncEngine,
) -> None:
    created, _ = await access.create_client(store_engine, PEPPER, Role.CLERK, "Клерк", "mfc-1")

    with pytest.raises(IntegrityError, match="ck_api_clients_service_center"):
        async with store_engine.begin() as connection:
            await connection.execute(
                update(ApiClient)
                .where(ApiClient.id == created.client_id)
                .values(service_center_id=None)
            )


async def test_use_is_noted_at_most_once_a_minute(store_engine: AsyncEngine) -> None:
    created, token = await access.create_client(store_engine, PEPPER, Role.PORTAL, "Портал")
    assert (await _stored(store_engine, created.client_id)).last_used_at is None

    await access.authenticate(store_engine, PEPPER, token)
    first_use = (await _stored(store_engine, created.client_id)).last_used_at
    await access.authenticate(store_engine, PEPPER, token)

    assert first_use is not None
    assert (await _stored(store_engine, created.client_id)).last_used_at == first_use

    long_ago = first_use - timedelta(minutes=2)
    async with store_engine.begin() as connection:
        await connection.execute(
            update(ApiClient).where(ApiClient.id == created.client_id).values(last_used_at=long_ago)
        )
    await access.authenticate(store_engine, PEPPER, token)

    noted = (await _stored(store_engine, created.client_id)).last_used_at
    assert noted is not None and noted > long_ago


async def test_clients_are_listed_with_their_state_and_without_the_hash(
    store_engine: AsyncEngine,
) -> None:
    clerk, clerk_token = await access.create_client(
        store_engine, PEPPER, Role.CLERK, "Иван Сидоров", "mfc-50-002"
    )
    portal, _ = await access.create_client(store_engine, PEPPER, Role.PORTAL, "Портал")
    await access.authenticate(store_engine, PEPPER, clerk_token)
    await access.revoke_client(store_engine, portal.client_id)

    listed = {record.id: record for record in await access.list_clients(store_engine)}

    clerk_record, portal_record = listed[clerk.client_id], listed[portal.client_id]
    assert (clerk_record.role, clerk_record.name, clerk_record.service_center_id) == (
        Role.CLERK,
        "Иван Сидоров",
        "mfc-50-002",
    )
    assert clerk_record.active and clerk_record.last_used_at is not None
    assert not portal_record.active and portal_record.revoked_at is not None
    assert portal_record.last_used_at is None
    assert list(listed).index(clerk.client_id) < list(listed).index(portal.client_id)
    assert "Иван" not in repr(clerk_record)
    assert token_hash(PEPPER, clerk_token) not in repr(clerk_record)


# --- rate limits ------------------------------------------------------------------------------


async def test_a_rate_limit_allows_limit_hits_then_refuses_until_the_window_ends(
    store_engine: AsyncEngine,
) -> None:
    key = _key()

    decisions = [await access.hit_rate_limit(store_engine, key, 3, HOUR) for _ in range(5)]

    assert [decision.allowed for decision in decisions] == [True, True, True, False, False]
    assert [decision.remaining for decision in decisions] == [2, 1, 0, 0, 0]
    # Hour windows are whole UTC hours, cut by the database clock (this machine's, here).
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + HOUR
    expected = (next_hour - now).total_seconds()
    for decision in decisions:
        assert 1 <= decision.retry_after_seconds <= 3600
        assert abs(decision.retry_after_seconds - expected) <= 2


async def test_separate_keys_are_counted_separately(store_engine: AsyncEngine) -> None:
    first, second = _key(), _key()

    await access.hit_rate_limit(store_engine, first, 1, HOUR)
    refused = await access.hit_rate_limit(store_engine, first, 1, HOUR)
    other = await access.hit_rate_limit(store_engine, second, 1, HOUR)

    assert not refused.allowed
    assert other.allowed


async def test_concurrent_hits_never_allow_more_than_the_limit(
    store_engine: AsyncEngine,
) -> None:
    key = _key()

    decisions = await asyncio.gather(
        *(access.hit_rate_limit(store_engine, key, 5, HOUR) for _ in range(20))
    )

    assert sum(decision.allowed for decision in decisions) == 5
    assert sorted(decision.remaining for decision in decisions) == [0] * 16 + [1, 2, 3, 4]


async def test_a_new_window_allows_again(store_engine: AsyncEngine) -> None:
    key, second = _key(), timedelta(seconds=1)
    await access.hit_rate_limit(store_engine, key, 1, second)
    # Should a window boundary fall between the hits, the next hit is refused for sure.
    while (refused := await access.hit_rate_limit(store_engine, key, 1, second)).allowed:
        pass
    assert refused.retry_after_seconds == 1

    await asyncio.sleep(refused.retry_after_seconds)

    assert (await access.hit_rate_limit(store_engine, key, 1, second)).allowed


@pytest.mark.parametrize(
    ("limit", "window"),
    [(0, HOUR), (1, timedelta(0)), (1, timedelta(seconds=-1)), (1, timedelta(days=2))],
)
async def test_a_rate_limit_needs_a_positive_limit_and_window(
    store_engine: AsyncEngine, limit: int, window: timedelta
) -> None:
    with pytest.raises(ValueError):
        await access.hit_rate_limit(store_engine, _key(), limit, window)


async def _windows(engine: AsyncEngine, key: str) -> list[datetime]:
    async with engine.connect() as connection:
        return list(
            await connection.scalars(
                select(RateLimit.window_start)
                .where(RateLimit.key == key)
                .order_by(RateLimit.window_start)
            )
        )


async def _add_old_window(engine: AsyncEngine, key: str, age: timedelta) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO rate_limits VALUES (:key, now() - :age, 99)"),
            {"key": key, "age": age},
        )


async def test_windows_long_over_are_pruned(store_engine: AsyncEngine) -> None:
    abandoned, revisited, recent = _key(), _key(), _key()
    for key in (abandoned, revisited):
        await _add_old_window(store_engine, key, timedelta(days=2))
    await _add_old_window(store_engine, recent, timedelta(hours=23))

    # A key that opens a new window drops its old ones by itself...
    assert (await access.hit_rate_limit(store_engine, revisited, 1, HOUR)).allowed
    assert len(await _windows(store_engine, revisited)) == 1
    assert len(await _windows(store_engine, abandoned)) == 1

    # ...and the others go with the periodic prune, but not a day-long window still running.
    assert await access.prune_rate_limits(store_engine) >= 1

    assert await _windows(store_engine, abandoned) == []
    assert len(await _windows(store_engine, revisited)) == 1
    assert len(await _windows(store_engine, recent)) == 1
