"""Attacks on a real stack: the API over HTTP on loopback in front of a real Temporal dev
server, the worker, the simulators and PostgreSQL (the fixtures of tests/api), and APIs of the
same stack configured otherwise, for the attacks on one setting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth import Role
from ops.serving import ServerThread
from settings import Settings
from store import access
from tests.api.conftest import Tokens, api_url, http, tokens

__all__ = ["Tokens", "api_url", "api_with", "fresh_portal", "http", "tokens"]

ApiWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api_with(stack_settings: Settings, stack_worker: None) -> Iterator[ApiWith]:
    """`async with api_with(setting=value, …) as http:` an API of the session's stack (same
    Temporal, worker, PostgreSQL, tokens) whose settings differ by those values."""

    @asynccontextmanager
    async def serve(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = stack_settings.model_copy(update=changes)
        with ServerThread(create_app(settings), name="api-variant", lifespan="on") as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                yield client

    yield serve


@pytest.fixture
async def fresh_portal(store_engine: AsyncEngine, stack_settings: Settings) -> str:
    """A portal token of its own (a leaked one, or a second portal deployment): its per-caller
    limits start from zero."""
    _, token = await access.create_client(
        store_engine, stack_settings.token_pepper_bytes, Role.PORTAL, "another portal"
    )
    return token
