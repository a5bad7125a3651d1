"""Tokens are answered from memory, yet a revoked or rotated token is refused at once on every
API instance: each instance forgets a client the moment PostgreSQL announces its change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import httpx
import pytest
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Role
from service.token_verdicts import TokenVerdicts
from settings import Settings
from store import access
from store.access import ApiClient
from tests.citizens import bearer
from tests.security.conftest import ApiWith

PEPPER = b"stack-token-pepper"


@pytest.fixture
async def instances(
    store_engine: AsyncEngine, postgres_url: str
) -> AsyncIterator[list[TokenVerdicts]]:
    """Two API instances' memories of tokens, listening on one PostgreSQL."""
    both = [TokenVerdicts(store_engine, PEPPER, postgres_url) for _ in range(2)]
    for verdicts in both:
        await verdicts.start()
    await until(lambda: all(v.listening for v in both), "both instances listen")
    yield both
    for verdicts in both:
        await verdicts.stop()


async def until(check: Callable[[], bool], what: str, seconds: float = 5) -> float:
    """Seconds it took for `check` to hold."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"never: {what}"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def refused_within(ask: Callable[[], Awaitable[object]], seconds: float = 2) -> float:
    started = time.monotonic()
    while await ask() is not None:
        assert time.monotonic() - started < seconds, "still accepted"
        await asyncio.sleep(0.002)
    return time.monotonic() - started


async def test_a_verdict_is_answered_from_memory_and_a_revocation_ends_it_on_every_instance(
    store_engine: AsyncEngine, instances: list[TokenVerdicts]
) -> None:
    principal, token = await access.create_client(store_engine, PEPPER, Role.PORTAL, "portal A")
    for verdicts in instances:
        assert await verdicts.authenticate(token) == principal

    # Revoked behind the instances' back (no announcement): they still answer from memory,
    # which shows the memory is used.
    async with store_engine.begin() as connection:
        await connection.execute(
            update(ApiClient).where(ApiClient.id == principal.client_id).values(name="renamed")
        )
    for verdicts in instances:
        assert await verdicts.authenticate(token) == principal

    assert await access.revoke_client(store_engine, principal.client_id)
    took = [await refused_within(partial(v.authenticate, token)) for v in instances]
    assert max(took) < 1, f"revocation took {took} s"
    for verdicts in instances:
        assert await verdicts.authenticate(token) is None, "and stays refused"


async def test_a_rotated_token_is_refused_at_once_and_the_new_one_accepted(
    store_engine: AsyncEngine, instances: list[TokenVerdicts]
) -> None:
    principal, old = await access.create_client(store_engine, PEPPER, Role.SUPPORT, "support B")
    for verdicts in instances:
        assert await verdicts.authenticate(old) == principal
    rotated = await access.rotate_client(
        store_engine, PEPPER, principal.client_id, Settings(token_pepper="x")
    )
    assert rotated is not None
    _, new = rotated
    for verdicts in instances:
        await refused_within(partial(verdicts.authenticate, old))
        assert await verdicts.authenticate(new) == principal


async def test_while_not_listening_nothing_is_answered_from_memory(
    store_engine: AsyncEngine, postgres_url: str
) -> None:
    verdicts = TokenVerdicts(store_engine, PEPPER, postgres_url)  # never started
    principal, token = await access.create_client(store_engine, PEPPER, Role.PORTAL, "portal C")
    assert await verdicts.authenticate(token) == principal
    async with store_engine.begin() as connection:
        await connection.execute(
            update(ApiClient)
            .where(ApiClient.id == principal.client_id)
            .values(revoked_at=func.now())
        )
    assert await verdicts.authenticate(token) is None, "asked PostgreSQL, not memory"


async def test_two_api_instances_refuse_a_revoked_token(
    api_with: ApiWith, store_engine: AsyncEngine, stack_settings: Settings
) -> None:
    principal, token = await access.create_client(
        store_engine, stack_settings.token_pepper_bytes, Role.CLERK, "clerk D", "mfc-77-001"
    )
    async with api_with() as first, api_with() as second:

        async def answer(api: httpx.AsyncClient) -> int:
            response = await api.post(
                "/v1/clerk/registrations/search", json={}, headers=bearer(token)
            )
            return response.status_code

        for api in (first, second):
            assert await answer(api) == 422, "authenticated (the body is what is wrong)"
        assert await access.revoke_client(store_engine, principal.client_id)
        for api in (first, second):
            started = time.monotonic()
            while await answer(api) != 401:
                assert time.monotonic() - started < 2, "a revoked token still accepted"
                await asyncio.sleep(0.005)
