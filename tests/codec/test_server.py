"""The codec server as the Temporal UI and CLI call it: support staff only, nothing leaked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from codec import EncryptionCodec, Keyring
from codec.server import CSRF_COOKIE, MAX_BODY_BYTES, SESSION_COOKIE, create_codec_app
from registration.callers import Principal, Role, new_token
from settings import Settings
from store import access
from tests.codec.signin import csrf_proof, origin_of, post_login, sign_in
from tests.data import PROFILE

PEPPER = "codec-test-pepper"
KEYRING = Keyring.generate()
ENDPOINT = "http://127.0.0.1:8082"
UI = "http://localhost:8233"
MARKER = "Иванова"  # in every payload below; must never come back in an error


def payloads_json(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def payloads_of(response: httpx.Response) -> list[Payload]:
    return list(json_format.Parse(response.text, Payloads()).payloads)


PLAINTEXT = pydantic_data_converter.payload_converter.to_payloads([PROFILE, MARKER])


def make_settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        token_pepper=PEPPER,
        codec_keys=KEYRING.dumps(),
        data_dir=data_dir,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def codec_app(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    app = create_codec_app(make_settings(tmp_path_factory.mktemp("codec"), postgres_url))
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def codec(codec_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(codec_app), base_url=ENDPOINT
    ) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def browser(codec_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own: its cookie jar is not shared with `codec` or other tests."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(codec_app), base_url=ENDPOINT
    ) as client:
        yield client


async def token(engine: AsyncEngine, role: Role) -> str:
    _, raw = await access.create_client(engine, PEPPER.encode(), role, f"codec test {role}")
    return raw


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def support_client(store_engine: AsyncEngine) -> tuple[Principal, str]:
    return await access.create_client(store_engine, PEPPER.encode(), Role.SUPPORT, "support")


@pytest.fixture(scope="module")
def support(support_client: tuple[Principal, str]) -> str:
    return support_client[1]


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}", "X-Namespace": "registrations"}


async def encrypted() -> list[Payload]:
    """Payloads as a worker hands them to Temporal."""
    return await EncryptionCodec(KEYRING).encode(PLAINTEXT)


# --- the protocol ---------------------------------------------------------------------------


async def test_support_decodes_what_a_worker_encrypted(
    codec: httpx.AsyncClient, support: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="codec.server")

    response = await codec.post(
        "/decode", content=payloads_json(await encrypted()), headers=bearer(support)
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert payloads_of(response) == PLAINTEXT
    [line] = [record.getMessage() for record in caplog.records if "codec decode" in record.message]
    assert "namespace 'registrations': 2 payloads, ok" in line
    assert MARKER not in caplog.text


async def test_encode_then_decode_gives_back_the_payloads(
    codec: httpx.AsyncClient, support: str
) -> None:
    encoded = await codec.post("/encode", content=payloads_json(PLAINTEXT), headers=bearer(support))

    assert encoded.status_code == 200, encoded.text
    assert MARKER not in encoded.text
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in payloads_of(encoded))
    decoded = await codec.post("/decode", content=encoded.text, headers=bearer(support))
    assert payloads_of(decoded) == PLAINTEXT


async def test_the_endpoint_may_end_in_the_namespace(
    codec: httpx.AsyncClient, support: str
) -> None:
    response = await codec.post(
        "/registrations/decode",
        content=payloads_json(await encrypted()),
        headers={"Authorization": f"Bearer {support}"},
    )

    assert payloads_of(response) == PLAINTEXT


async def test_plaintext_payloads_come_back_unchanged(
    codec: httpx.AsyncClient, support: str
) -> None:
    response = await codec.post(
        "/decode", content=payloads_json(PLAINTEXT), headers=bearer(support)
    )

    assert payloads_of(response) == PLAINTEXT


async def test_a_payload_under_an_unknown_key_fails_the_request_naming_the_key(
    codec: httpx.AsyncClient, support: str
) -> None:
    stranger = Keyring.generate()
    foreign = await EncryptionCodec(stranger).encode(PLAINTEXT[:1])

    response = await codec.post(
        "/decode", content=payloads_json([*await encrypted(), *foreign]), headers=bearer(support)
    )

    assert response.status_code == 422
    assert response.json()["code"] == "undecryptable"
    assert f"key '{stranger.active}', which is not in the keyring" in response.json()["message"]
    assert "payloads" not in response.text


# --- who may call ---------------------------------------------------------------------------


async def test_no_token_is_refused(codec: httpx.AsyncClient) -> None:
    body = payloads_json(PLAINTEXT)

    for path in ("/decode", "/encode"):
        response = await codec.post(path, content=body)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
        assert MARKER not in response.text


@pytest.mark.parametrize(
    "authorization",
    ["Bearer garbage", f"Bearer {new_token()}", "Basic dXNlcjpwYXNz", "Bearer"],
    # Stable ids: a new token each run would name the test differently in each xdist worker.
    ids=["garbage", "unknown-token", "basic", "empty"],
)
async def test_an_unknown_token_is_refused(codec: httpx.AsyncClient, authorization: str) -> None:
    response = await codec.post(
        "/decode", content=payloads_json(PLAINTEXT), headers={"Authorization": authorization}
    )

    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthenticated",
        "message": "The token is unknown, expired or revoked",
    }


async def test_a_revoked_token_is_refused(
    codec: httpx.AsyncClient, store_engine: AsyncEngine
) -> None:
    principal, raw = await access.create_client(
        store_engine, PEPPER.encode(), Role.SUPPORT, "leaving engineer"
    )
    assert await access.revoke_client(store_engine, principal.client_id)

    response = await codec.post("/decode", content=payloads_json(PLAINTEXT), headers=bearer(raw))

    assert response.status_code == 401


@pytest.mark.parametrize("role", [role for role in Role if role is not Role.SUPPORT])
async def test_other_roles_are_forbidden(
    codec: httpx.AsyncClient, store_engine: AsyncEngine, role: Role
) -> None:
    if role is Role.CLERK:
        _, raw = await access.create_client(
            store_engine, PEPPER.encode(), role, "clerk", "mfc-77-001"
        )
    else:
        raw = await token(store_engine, role)

    response = await codec.post(
        "/decode", content=payloads_json(await encrypted()), headers=bearer(raw)
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert MARKER not in response.text


async def test_an_unreachable_store_is_a_503_and_garbage_never_reaches_it(
    tmp_path: Path, support: str
) -> None:
    app = create_codec_app(make_settings(tmp_path, "postgresql://nobody@127.0.0.1:1/nothing"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=ENDPOINT) as client,
    ):
        down = await client.post("/decode", content="{}", headers=bearer(support))
        garbage = await client.post("/decode", content="{}", headers=bearer("gsr_short"))
        health = await client.get("/health")

    assert down.status_code == 503
    assert down.json()["code"] == "unavailable"
    assert garbage.status_code == 401
    assert health.json() == {"status": "ok"}


# --- the browser: sign in once, then the cookie -------------------------------------------


async def test_a_support_engineer_signs_in_and_the_cookie_alone_decodes(
    browser: httpx.AsyncClient, support_client: tuple[Principal, str]
) -> None:
    principal, support = support_client
    form = await browser.get("/login")
    assert form.status_code == 200
    assert 'name="token"' in form.text
    assert "SameSite=strict" in form.headers["set-cookie"]  # the CSRF nonce

    signed_in = await post_login(browser, support, await csrf_proof(browser), origin_of(browser))

    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert f"Signed in as <strong>{principal.client_id}</strong>" in (await browser.get("/")).text
    [set_session] = [
        cookie
        for cookie in signed_in.headers.get_list("set-cookie")
        if cookie.startswith(f"{SESSION_COOKIE}=")
    ]
    for attribute in ("HttpOnly", "Max-Age=28800", "Path=/", "SameSite=strict"):
        assert attribute in set_session
    assert "Secure" not in set_session  # plain http on loopback; https would get Secure
    session_id = signed_in.cookies[SESSION_COOKIE]
    assert support not in session_id and support not in str(signed_in.headers)

    response = await browser.post(
        "/decode",
        content=payloads_json(await encrypted()),
        headers={"X-Namespace": "registrations"},
    )

    assert response.status_code == 200, response.text
    assert payloads_of(response) == PLAINTEXT


async def test_the_token_as_a_cookie_is_refused(codec: httpx.AsyncClient, support: str) -> None:
    response = await codec.post(
        "/decode",
        content=payloads_json(PLAINTEXT),
        headers={"Cookie": f"{SESSION_COOKIE}={support}"},
    )

    assert response.status_code == 401
    assert support not in response.text


async def test_an_explicit_authorization_header_wins_over_the_cookie(
    browser: httpx.AsyncClient, support: str
) -> None:
    await sign_in(browser, support)

    response = await browser.post(
        "/decode", content=payloads_json(PLAINTEXT), headers={"Authorization": "Bearer garbage"}
    )

    assert response.status_code == 401


async def test_signing_out_ends_the_session_and_clears_the_cookie(
    browser: httpx.AsyncClient, support: str
) -> None:
    session_id = await sign_in(browser, support)

    response = await browser.post("/logout", headers={"Origin": origin_of(browser)})

    assert response.status_code == 200
    [cleared] = [
        cookie
        for cookie in response.headers.get_list("set-cookie")
        if cookie.startswith(f'{SESSION_COOKIE}=""')
    ]
    assert "Max-Age=0" in cleared
    replayed = await browser.post(
        "/decode",
        content=payloads_json(PLAINTEXT),
        headers={"Cookie": f"{SESSION_COOKIE}={session_id}"},
    )
    assert replayed.status_code == 401


@pytest.mark.parametrize(
    "presented", ["garbage", "", new_token()], ids=["garbage", "empty", "unknown-token"]
)
async def test_a_wrong_token_at_sign_in_opens_no_session(
    browser: httpx.AsyncClient, presented: str
) -> None:
    response = await post_login(browser, presented, await csrf_proof(browser), origin_of(browser))

    assert response.status_code == 401
    assert SESSION_COOKIE not in response.cookies
    assert CSRF_COOKIE in response.cookies  # a fresh form, to try again
    assert "unknown, expired or revoked" in response.text


async def test_a_portal_token_cannot_sign_in(
    browser: httpx.AsyncClient, store_engine: AsyncEngine
) -> None:
    portal = await token(store_engine, Role.PORTAL)

    response = await post_login(browser, portal, await csrf_proof(browser), origin_of(browser))

    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


# --- CORS, for the UI's fetch ---------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }


async def test_the_ui_origin_passes_the_preflight_without_a_token(
    codec: httpx.AsyncClient,
) -> None:
    response = await codec.options("/decode", headers=preflight(UI))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "x-namespace" in allowed
    assert "authorization" in allowed


async def test_an_unknown_origin_is_not_allowed(codec: httpx.AsyncClient) -> None:
    response = await codec.options("/decode", headers=preflight("https://evil.example"))

    assert "access-control-allow-origin" not in response.headers


async def test_answers_to_the_ui_carry_cors_headers_even_when_refused(
    codec: httpx.AsyncClient,
) -> None:
    response = await codec.post("/decode", content="{}", headers={"Origin": UI})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"


# --- bodies ---------------------------------------------------------------------------------


async def test_an_oversized_body_is_refused(codec: httpx.AsyncClient, support: str) -> None:
    huge = b"x" * (MAX_BODY_BYTES + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    declared = await codec.post("/decode", content=huge, headers=bearer(support))
    undeclared = await codec.post("/decode", content=chunks(), headers=bearer(support))

    for response in (declared, undeclared):
        assert response.status_code == 413
        assert response.json() == {
            "code": "too_large",
            "message": f"The body exceeds {MAX_BODY_BYTES} bytes",
        }


@pytest.mark.parametrize(
    "body",
    [
        f'{{"payloads": [{{"data": "{MARKER}"}}',
        f'{{"payloads": [{{"metadata": "{MARKER}"}}]}}',
        f'{{"payloads": "{MARKER}"}}',
        f'["{MARKER}"]',
        "[" * 100_000,
        b"\xff\xfe" + MARKER.encode(),
    ],
)
async def test_a_malformed_body_is_refused_without_quoting_it(
    codec: httpx.AsyncClient, support: str, body: str | bytes
) -> None:
    response = await codec.post("/decode", content=body, headers=bearer(support))

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"
    assert MARKER not in response.text


async def test_health_needs_no_token(codec: httpx.AsyncClient) -> None:
    response = await codec.get("/health")

    assert response.json() == {"status": "ok"}
