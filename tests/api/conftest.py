"""The API served over real HTTP on loopback, in front of the session's stack (dev server,
worker, simulators, PostgreSQL), and one token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.limits import server_header_limit
from registration.callers import Role
from serving import ServerThread
from settings import Settings
from store import access


@pytest.fixture(scope="session")
def api_url(stack_settings: Settings, stack_worker: None) -> Iterator[str]:
    app = create_app(stack_settings)
    limit = server_header_limit(stack_settings)
    with ServerThread(app, name="api", lifespan="on", header_limit=limit) as server:
        yield server.url


@dataclass(frozen=True)
class Tokens:
    portal: str
    clerk: str
    other_center_clerk: str
    bank: str
    esignature: str
    support: str

    def of(self, role: Role) -> str:
        return str(getattr(self, role.value))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tokens(store_engine: AsyncEngine, stack_settings: Settings) -> Tokens:
    pepper = stack_settings.token_pepper_bytes

    async def token(role: Role, name: str, center: str | None = None) -> str:
        _, raw = await access.create_client(store_engine, pepper, role, name, center)
        return raw

    return Tokens(
        portal=await token(Role.PORTAL, "portal backend"),
        clerk=await token(Role.CLERK, "clerk 1", "mfc-77-001"),
        other_center_clerk=await token(Role.CLERK, "clerk 2", "mfc-50-002"),
        bank=await token(Role.BANK, "bank"),
        esignature=await token(Role.ESIGNATURE, "e-signature service"),
        support=await token(Role.SUPPORT, "support"),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client
