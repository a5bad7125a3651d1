"""The support desk: the codec server serves the Temporal UI, under its own origin, to signed-in
support only and only to look. A stand-in UI on loopback records what reaches it."""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from codec import Keyring
from codec.desk import COLUMNS_KEY, SUPPORT_COLUMNS, safe_next
from codec.server import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, create_codec_app
from codec.ui_proxy import access_line
from ops.stack import free_port
from registration.callers import Principal, Role
from serving import ServerThread
from settings import Settings
from store import access
from tests.codec.signin import csrf_proof, origin_of, sign_in

PEPPER = "desk-test-pepper"
DESK = "http://127.0.0.1:8082"
NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
UI_SETTINGS = {
    "Auth": {"Enabled": False},
    "Codec": {"Endpoint": "http://elsewhere:1", "IncludeCredentials": False},
    "Version": "2.54.1",
}
LARGE = b"<html>" + b"registrations " * 4000 + b"</html>"


class StandInUi:
    """Answers like the Temporal UI server and remembers each request it got."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.get("/api/v1/settings")
        async def settings() -> Response:
            answer = JSONResponse(UI_SETTINGS)
            answer.set_cookie("_csrf", "ui-csrf")
            return answer

        @self.app.get("/compressed")
        async def compressed() -> Response:
            return Response(gzip.compress(LARGE), headers={"Content-Encoding": "gzip"})

        @self.app.api_route("/{path:path}", methods=["GET", "POST", "DELETE"])
        async def anything(request: Request) -> Response:
            self.seen.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": request.url.query,
                    "cookie": request.headers.get("cookie", ""),
                    "body": (await request.body()).decode(),
                }
            )
            answer = JSONResponse({"ok": True})
            answer.set_cookie("_csrf", "ui-csrf")
            answer.set_cookie("ui_other", "1")
            return answer


@pytest.fixture(scope="module")
def ui() -> Iterator[StandInUi]:
    stand_in = StandInUi()
    with ServerThread(stand_in.app, name="ui") as server:
        stand_in.url = server.url
        yield stand_in


def settings_for(data_dir: Path, database_url: str, ui_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        token_pepper=PEPPER,
        codec_keys=Keyring.generate().dumps(),
        data_dir=data_dir,
        temporal_ui_url=ui_url,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk_app(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, ui: StandInUi
) -> AsyncIterator[FastAPI]:
    app = create_codec_app(settings_for(tmp_path_factory.mktemp("desk"), postgres_url, ui.url))
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def browser(desk_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (its own cookie jar), on the desk."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(desk_app), base_url=DESK) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def support(store_engine: AsyncEngine) -> tuple[Principal, str]:
    return await access.create_client(store_engine, PEPPER.encode(), Role.SUPPORT, "desk test")


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in(
    browser: httpx.AsyncClient, support: tuple[Principal, str]
) -> httpx.AsyncClient:
    await sign_in(browser, support[1])
    return browser


async def test_a_page_of_the_ui_sends_a_stranger_to_sign_in_and_back_to_it(
    browser: httpx.AsyncClient, support: tuple[Principal, str], ui: StandInUi
) -> None:
    wanted = "/namespaces/registrations/workflows/reg-1?tab=metadata"

    sent = await browser.get(wanted, headers=NAVIGATE)

    assert sent.status_code == 303
    form = await browser.get(sent.headers["location"])
    assert 'name="next" value="/namespaces/registrations/workflows/reg-1?tab=metadata"' in form.text
    signed = await browser.post(
        "/login",
        data={"token": support[1], CSRF_FIELD: await csrf_proof(browser), "next": wanted},
        headers={"Origin": origin_of(browser)},
    )
    assert signed.status_code == 303 and signed.headers["location"] == wanted
    assert (await browser.get(wanted, headers=NAVIGATE)).json() == {"ok": True}
    assert ui.seen[-1]["path"] == "/namespaces/registrations/workflows/reg-1"


async def test_a_call_of_the_ui_without_a_sign_in_never_reaches_it(
    browser: httpx.AsyncClient, ui: StandInUi
) -> None:
    before = len(ui.seen)

    refused = await browser.get("/api/v1/namespaces/registrations/workflows")
    forged = await browser.get(
        "/api/v1/namespaces", headers={"Cookie": f"{SESSION_COOKIE}=gss_forged"}
    )

    assert refused.status_code == forged.status_code == 401
    assert refused.json()["code"] == "unauthenticated"
    assert len(ui.seen) == before


async def test_the_ui_gets_the_request_but_never_the_desks_cookies(
    browser: httpx.AsyncClient, support: tuple[Principal, str], ui: StandInUi
) -> None:
    session_id = await sign_in(browser, support[1])
    browser.cookies.clear()

    answer = await browser.post(
        "/api/v1/namespaces/registrations/workflows/reg-1/query/__temporal_workflow_metadata",
        params={"a": "b c"},
        content=b'{"query": {}}',
        headers={"Cookie": f"_csrf=ui-csrf; {CSRF_COOKIE}=nonce; {SESSION_COOKIE}={session_id}"},
    )

    assert answer.status_code == 200, answer.text
    seen = ui.seen[-1]
    assert seen["method"] == "POST" and seen["query"] == "a=b+c"
    assert seen["path"].endswith("/query/__temporal_workflow_metadata")
    assert seen["body"] == '{"query": {}}'
    assert "_csrf=ui-csrf" in seen["cookie"]
    assert SESSION_COOKIE not in seen["cookie"] and CSRF_COOKIE not in seen["cookie"]
    assert len(answer.headers.get_list("set-cookie")) == 2, "repeated headers stay repeated"


async def test_the_ui_decodes_through_the_desk_itself_and_cannot_write(
    signed_in: httpx.AsyncClient,
) -> None:
    settings = await signed_in.get("/api/v1/settings")

    assert settings.status_code == 200
    served = settings.json()
    assert served["Codec"]["Endpoint"] == DESK, "same origin: the session cookie goes along"
    assert served["Codec"]["DefaultErrorLink"] == f"{DESK}/"
    assert "sign" in served["Codec"]["DefaultErrorMessage"].lower()
    assert served["DisableWriteActions"] is True and served["DisableNewsFetch"] is True
    assert served["Version"] == "2.54.1" and served["Auth"] == {"Enabled": False}
    assert settings.headers.get_list("set-cookie") == ["_csrf=ui-csrf; Path=/; SameSite=lax"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/terminate"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/cancel"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/signal/confirm"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/update/retry_checks"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/query/x/terminate"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1%2Fquery/terminate"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/query/x%2F..%2F..%2Fterminate"),
        ("POST", "/api/v1/namespaces/registrations/workflows/reg-1/query/../../terminate"),
        ("DELETE", "/api/v1/namespaces/registrations/schedules/s"),
    ],
)
async def test_a_write_through_the_desk_is_refused(
    signed_in: httpx.AsyncClient, ui: StandInUi, method: str, path: str
) -> None:
    before = len(ui.seen)

    answer = await signed_in.request(method, path, content=b"{}")

    assert answer.status_code == 403 and answer.json()["code"] == "read_only"
    assert len(ui.seen) == before


async def test_a_compressed_answer_is_passed_on_as_it_came(signed_in: httpx.AsyncClient) -> None:
    answer = await signed_in.get("/compressed", headers={"Accept-Encoding": "gzip"})

    assert answer.headers["content-encoding"] == "gzip"
    assert answer.content == LARGE


async def test_a_ui_that_does_not_answer_is_a_502(
    postgres_url: str, tmp_path: Path, support: tuple[Principal, str]
) -> None:
    app = create_codec_app(settings_for(tmp_path, postgres_url, f"http://127.0.0.1:{free_port()}"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=DESK) as browser,
    ):
        await sign_in(browser, support[1])
        answer = await browser.get("/api/v1/namespaces")

    assert answer.status_code == 502 and answer.json()["code"] == "ui_unavailable"


async def test_the_start_page_leads_into_the_ui_with_supports_columns(
    signed_in: httpx.AsyncClient, support: tuple[Principal, str]
) -> None:
    page = await signed_in.get("/")

    assert f"Signed in as <strong>{support[0].client_id}</strong>" in page.text
    assert 'href="/namespaces/registrations/workflows"' in page.text
    stuck = re.search(r'<a href="([^"]+)">Waiting on an agency for more than 1 hour</a>', page.text)
    assert stuck is not None and "query=" in stuck[1] and "RegistrationPendingSince" in stuck[1]
    nonce = re.search(r"script-src 'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce is not None and f'<script nonce="{nonce[1]}">' in page.text
    assert COLUMNS_KEY in page.text and all(column in page.text for column in SUPPORT_COLUMNS)


async def test_the_start_page_of_a_stranger_is_the_sign_in_form(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/")

    assert page.status_code == 200 and 'name="token"' in page.text
    assert 'name="next" value="/"' in page.text


async def test_the_uis_own_return_url_brings_support_back_after_signing_in(
    browser: httpx.AsyncClient,
) -> None:
    ours = await browser.get("/login", params={"returnUrl": f"{DESK}/namespaces/x/workflows"})
    theirs = await browser.get("/login", params={"returnUrl": "https://evil.example/x"})

    assert 'name="next" value="/namespaces/x/workflows"' in ours.text
    assert 'name="next" value="/"' in theirs.text


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "namespaces",
        "/x\r\nSet-Cookie: a=b",
        "/" + "a" * 3000,
    ],
)
def test_sign_in_never_sends_the_browser_to_another_site(value: str | None) -> None:
    assert safe_next(value, DESK) == "/"


def test_the_desks_access_log_keeps_paths_without_queries_or_static_files() -> None:
    def line(path: str) -> logging.LogRecord:
        return logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:1", "GET", path, "1.1", 200),
            None,
        )

    rendered = line("/render?content=Waiting%20for%20the%20MVD")
    static = line("/_app/immutable/entry/start.js")

    assert access_line(rendered) and rendered.getMessage().endswith('"GET /render HTTP/1.1" 200')
    assert not access_line(static)
