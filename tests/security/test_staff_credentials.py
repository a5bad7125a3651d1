"""Finding 9: staff credentials that never expire.

A clerk's or support engineer's token lived forever, the codec server's sign-in cookie held the
raw support token with no expiry on the server, and `/login` took a form from any site. Here the
API and the codec server run over real HTTP on loopback, against the session's PostgreSQL, and
each credential is tried after it should have stopped working.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from codec.server import CSRF_COOKIE, SESSION_COOKIE, create_codec_app
from registration.callers import Principal, Role, token_hash
from serving import ServerThread
from settings import Settings
from store import access
from store.access import ApiClient
from store.staff_sessions import StaffSession
from tests.codec.signin import csrf_proof, origin_of, post_login, sign_in

EMPTY_PAYLOADS = '{"payloads": []}'


async def staff(
    engine: AsyncEngine, settings: Settings, role: Role, lifetime: timedelta | None = None
) -> tuple[Principal, str]:
    """A new client of a person's role, its token living as `gosreg tokens create` makes it."""
    center = "mfc-77-001" if role is Role.CLERK else None
    return await access.create_client(
        engine,
        settings.token_pepper_bytes,
        role,
        f"staff {role}",
        center,
        lifetime or access.token_lifetime(settings, role),
    )


async def api_answer(http: httpx.AsyncClient, role: Role, token: str) -> int:
    """The status of one call to an endpoint of `role`: 401 when the token is refused, the
    route's own answer (422 or 404 here) when it is accepted."""
    auth = {"Authorization": f"Bearer {token}"}
    if role is Role.CLERK:
        response = await http.post("/v1/clerk/registrations/search", json={}, headers=auth)
    else:
        response = await http.get("/v1/support/registrations/reg-nobody/audit", headers=auth)
    return response.status_code


async def expire_token(engine: AsyncEngine, client_id: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(ApiClient)
            .where(ApiClient.id == client_id)
            .values(expires_at=ApiClient.created_at - timedelta(seconds=1))
        )
        # Changed by hand, announced as store.access does, so instances forget the token.
        await access.announce_change(connection, client_id)


# --- tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CLERK, Role.SUPPORT])
async def test_an_expired_staff_token_is_refused_by_the_api(
    http: httpx.AsyncClient, store_engine: AsyncEngine, stack_settings: Settings, role: Role
) -> None:
    principal, token = await staff(store_engine, stack_settings, role)
    assert await api_answer(http, role, token) != 401

    await expire_token(store_engine, principal.client_id)

    assert await api_answer(http, role, token) == 401


async def test_a_staff_token_dies_of_old_age_on_its_own(
    http: httpx.AsyncClient, store_engine: AsyncEngine, stack_settings: Settings
) -> None:
    _, token = await staff(store_engine, stack_settings, Role.CLERK, timedelta(seconds=1))
    assert await api_answer(http, Role.CLERK, token) != 401

    await asyncio.sleep(1.2)

    assert await api_answer(http, Role.CLERK, token) == 401


async def test_a_rotated_token_is_refused_and_its_successor_accepted(
    http: httpx.AsyncClient, store_engine: AsyncEngine, stack_settings: Settings
) -> None:
    principal, old = await staff(store_engine, stack_settings, Role.SUPPORT)

    rotated = await access.rotate_client(
        store_engine, stack_settings.token_pepper_bytes, principal.client_id, stack_settings
    )

    assert rotated is not None
    again, new = rotated
    assert again == principal
    assert await api_answer(http, Role.SUPPORT, old) == 401
    assert await api_answer(http, Role.SUPPORT, new) != 401


# --- the codec server's sign-in -----------------------------------------------------------


@pytest.fixture(scope="module")
def codec_url(stack_settings: Settings) -> Iterator[str]:
    with ServerThread(create_codec_app(stack_settings), name="codec", lifespan="on") as server:
        yield server.url


@pytest_asyncio.fixture(loop_scope="session")
async def browser(codec_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with its own cookie jar, on the codec server."""
    async with httpx.AsyncClient(base_url=codec_url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def support(store_engine: AsyncEngine, stack_settings: Settings) -> tuple[Principal, str]:
    return await staff(store_engine, stack_settings, Role.SUPPORT)


async def decode(browser: httpx.AsyncClient, session_id: str | None = None) -> int:
    """The status of a decode with the browser's cookies, or with only `session_id`."""
    cookie = {} if session_id is None else {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    response = await browser.post(
        "/decode", content=EMPTY_PAYLOADS, headers={"X-Namespace": "registrations", **cookie}
    )
    if response.status_code == 401:
        assert response.json()["code"] == "unauthenticated"
    return response.status_code


async def age_session(
    engine: AsyncEngine, pepper: bytes, session_id: str, **values: object
) -> None:
    async with engine.begin() as connection:
        changed = await connection.execute(
            update(StaffSession)
            .where(StaffSession.id_hash == token_hash(pepper, session_id))
            .values(**values)
        )
    assert changed.rowcount == 1


async def test_the_cookie_holds_a_session_id_never_the_token(
    browser: httpx.AsyncClient,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    support: tuple[Principal, str],
) -> None:
    _, token = support

    session_id = await sign_in(browser, token)

    assert token not in session_id and token not in str(dict(browser.cookies))
    assert await decode(browser) == 200
    # Only keyed hashes reach the database.
    async with store_engine.connect() as connection:
        stored = [
            str(value)
            for row in await connection.execute(StaffSession.__table__.select())
            for value in row
        ]
    assert not any(token in value or session_id in value for value in stored)


@pytest.mark.parametrize(
    "over",
    [
        pytest.param(
            {"last_seen_at": StaffSession.last_seen_at - timedelta(minutes=31)}, id="idle"
        ),
        pytest.param({"expires_at": StaffSession.created_at - timedelta(seconds=1)}, id="absolute"),
    ],
)
async def test_a_session_past_its_expiry_is_refused(
    browser: httpx.AsyncClient,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    support: tuple[Principal, str],
    over: dict[str, object],
) -> None:
    session_id = await sign_in(browser, support[1])
    assert await decode(browser) == 200

    await age_session(store_engine, stack_settings.token_pepper_bytes, session_id, **over)

    assert await decode(browser) == 401


async def test_a_session_in_use_stays_alive_past_the_idle_timeout(
    browser: httpx.AsyncClient,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    support: tuple[Principal, str],
) -> None:
    session_id = await sign_in(browser, support[1])
    pepper = stack_settings.token_pepper_bytes
    await age_session(
        store_engine,
        pepper,
        session_id,
        last_seen_at=StaffSession.last_seen_at - timedelta(minutes=29),
    )

    assert await decode(browser) == 200  # used: idle from now
    await age_session(
        store_engine,
        pepper,
        session_id,
        last_seen_at=StaffSession.last_seen_at - timedelta(minutes=29),
    )
    assert await decode(browser) == 200


async def test_a_session_id_replayed_after_sign_out_is_refused(
    browser: httpx.AsyncClient, support: tuple[Principal, str]
) -> None:
    session_id = await sign_in(browser, support[1])

    signed_out = await browser.post("/logout", headers={"Origin": origin_of(browser)})

    assert signed_out.status_code == 200
    assert SESSION_COOKIE not in browser.cookies
    assert await decode(browser, session_id) == 401


@pytest.mark.parametrize("how", ["revoke", "rotate", "expire"])
async def test_a_session_ends_with_its_token(
    browser: httpx.AsyncClient, store_engine: AsyncEngine, stack_settings: Settings, how: str
) -> None:
    principal, token = await staff(store_engine, stack_settings, Role.SUPPORT)
    await sign_in(browser, token)
    assert await decode(browser) == 200

    if how == "revoke":
        assert await access.revoke_client(store_engine, principal.client_id)
    elif how == "rotate":
        pepper = stack_settings.token_pepper_bytes
        assert await access.rotate_client(store_engine, pepper, principal.client_id, stack_settings)
    else:
        await expire_token(store_engine, principal.client_id)

    assert await decode(browser) == 401


# --- forms posted from elsewhere --------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1:8233",  # the Temporal UI: allowed to fetch /decode, never to sign in
        "null",
        None,
    ],
)
async def test_a_sign_in_from_another_origin_is_refused(
    browser: httpx.AsyncClient, support: tuple[Principal, str], origin: str | None
) -> None:
    _, token = support

    response = await post_login(browser, token, await csrf_proof(browser), origin)

    assert response.status_code == 403
    assert response.json()["code"] == "foreign_origin"
    assert SESSION_COOKIE not in response.cookies
    assert token not in response.text


async def test_a_sign_in_without_the_forms_csrf_proof_is_refused(
    browser: httpx.AsyncClient, codec_url: str, support: tuple[Principal, str]
) -> None:
    _, token = support
    own = origin_of(browser)
    proof = await csrf_proof(browser)
    async with httpx.AsyncClient(base_url=codec_url) as attacker:
        # Proofs do not travel: each matches only the nonce cookie it was served with.
        attackers_proof = await csrf_proof(attacker)
        with_the_wrong_cookie = await post_login(attacker, token, proof, own)
        attacker.cookies.clear()
        without_a_cookie = await post_login(attacker, token, proof, own)
        with_nothing = await post_login(attacker, token, None, own)

    attempts = [
        await post_login(browser, token, None, own),
        await post_login(browser, token, "0" * len(proof), own),
        await post_login(browser, token, attackers_proof, own),
        await post_login(browser, token, "не hex", own),
        with_the_wrong_cookie,
        without_a_cookie,
        with_nothing,
    ]

    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "csrf_failed"
        assert SESSION_COOKIE not in response.cookies
        assert token not in response.text
    assert browser.cookies.get(CSRF_COOKIE) is not None
    assert (await post_login(browser, token, proof, own)).status_code == 303  # the real form
