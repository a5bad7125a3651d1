"""The codec server: Temporal's remote codec protocol, for support staff only, and the support
desk that serves the Temporal Web UI with payloads decoded.

    python -m codec [--host H] [--port P]       (uvicorn codec.server:app also works)

The Temporal Web UI and the `temporal` CLI cannot read encrypted payloads; they send them
here. `POST {endpoint}/decode` and `POST {endpoint}/encode` take and answer protobuf JSON of
`temporal.api.common.v1.Payloads` (`{"payloads": [{"metadata": {"encoding": "<base64>"},
"data": "<base64>"}]}`), with the namespace in the `X-Namespace` header. Only the last path
segment counts, so `{endpoint}/<namespace>/decode` works as well.

Only `support` clients get an answer. The CLI sends its token as a header
(`temporal workflow show --codec-endpoint URL --codec-auth "Bearer gsr_…"`); a browser signs
in once at `/` (or `/login`) and gets a server-side session (`store.staff_sessions`): the
HttpOnly cookie holds only a random session id, which ends after `codec_session_hours`, after
`codec_session_idle_minutes` unused, at `/logout`, or when the token is revoked, rotated or
expires. `/login` and `/logout` accept forms only from this server's own origin, and `/login`
only with the CSRF proof its form carries (a random nonce in a SameSite=Strict cookie, and its
HMAC under the token pepper in a hidden field).

The support desk: every other path is the Temporal UI (`temporal_ui_url`), forwarded for a
signed-in support session only (`codec.ui_proxy`); anyone else is sent to the sign-in page (a
page) or refused (an API call). The UI then decodes through this same origin, so the session
cookie goes with its calls and nothing needs setting up in the browser.
Errors are `{"code": ..., "message": ...}` and never quote a payload or a token.
`/metrics` counts the requests by caller (client id) and outcome, never their content.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from google.protobuf import json_format
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload, Payloads

import browser
from codec import desk
from codec.encryption import DecryptionError, EncryptionCodec
from codec.ui_proxy import SETTINGS_PATH, UiProxy, UiUnavailable, is_read, raw_path
from metrics import exposition, journey
from registration.callers import Principal, Role, looks_like_token
from service.tracing import NO_NATIVE_TELEMETRY
from settings import Settings, load_settings
from store import access, staff_sessions
from store.db import make_engine
from store.embedded import database_url

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_FORM_BYTES = 4096
# Both cookies are HttpOnly and SameSite=Strict (`browser.set_cookie`). Strict still reaches
# the UI's fetches: the UI and this server are the same site (same host, another port).
SESSION_COOKIE = "gosreg_codec_session"
CSRF_COOKIE = "gosreg_codec_csrf"
CSRF_FIELD = "csrf"
CSRF_PURPOSE = "codec-login-csrf"
CSRF_SECONDS = 3600  # how long a sign-in form stays usable
_NAMESPACE_IN_LOGS = 100  # characters; the header is the caller's to fill

Convert = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
T = TypeVar("T")


class Refused(Exception):
    """A request the server will not serve; answered as `{"code", "message"}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class CodecServices:
    """Built once at start-up (the lifespan) and shared by every request."""

    settings: Settings
    engine: AsyncEngine
    codec: EncryptionCodec
    session_lifetime: timedelta
    session_idle_timeout: timedelta
    ui: UiProxy

    @property
    def pepper(self) -> bytes:
        return self.settings.token_pepper_bytes

    @property
    def namespace(self) -> str:
        return self.settings.temporal_namespace

    def limits(self) -> str:
        """When a sign-in ends, in words."""
        hours = self.session_lifetime.total_seconds() / 3600
        minutes = self.session_idle_timeout.total_seconds() / 60
        return (
            f"A sign-in ends after {hours:g} h, after {minutes:g} minutes unused, at Sign out, "
            "or when your token expires, is rotated or revoked."
        )


def services(request: Request) -> CodecServices:
    found: CodecServices = request.app.state.services
    return found


ServicesDep = Annotated[CodecServices, Depends(services)]


async def from_store(call: Awaitable[T]) -> T:
    """`call`'s answer, or a 503 when the account store cannot be reached."""
    try:
        return await call
    except (OperationalError, InterfaceError, PoolTimeout) as error:
        log.warning("codec: the account store is unreachable: %s", type(error).__name__)
        raise Refused(503, "unavailable", "The account store is unreachable; try again") from None


async def principal_of(found: CodecServices, token: str) -> Principal | None:
    """Who holds `token`: None when it is malformed, unknown, revoked or expired."""
    if not looks_like_token(token):
        return None
    return await from_store(access.authenticate(found.engine, found.pepper, token))


def bearer_token(request: Request) -> str | None:
    """The token of the request's `Authorization` header ("" when it is not a bearer
    token), or None when there is no such header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def session_caller(request: Request, found: CodecServices) -> Principal | None:
    """Who the request's session cookie (from `/login`) belongs to, if it is still open."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        return None
    return await from_store(
        staff_sessions.session_principal(found.engine, found.pepper, session_id)
    )


async def support_caller(request: Request, found: ServicesDep) -> Principal:
    """The caller of a codec route: the token's holder when the request has an
    `Authorization` header (an explicit header wins), else the session's from `/login`."""
    token = bearer_token(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        principal = await principal_of(found, token)
        if principal is None:
            raise Refused(401, "unauthenticated", "The token is unknown, expired or revoked")
    elif session_id is not None:
        principal = await session_caller(request, found)
        if principal is None:
            raise Refused(401, "unauthenticated", "The session is over; sign in again at /login")
    else:
        raise Refused(
            401,
            "unauthenticated",
            "Send a support token (Authorization: Bearer <token>) or sign in at /login",
        )
    if principal.role is not Role.SUPPORT:
        raise Refused(403, "forbidden", f"A {principal.role} token may not use the codec server")
    return principal


SupportCaller = Annotated[Principal, Depends(support_caller)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 once it exceeds `limit` bytes (before reading it
    when Content-Length says so)."""
    too_large = Refused(413, "too_large", f"The body exceeds {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def convert(request: Request, caller: Principal, operation: str, apply: Convert) -> Response:
    """Parse the Payloads in the body, `apply` the codec, answer with the result. Logs one
    line: who, which namespace, how many payloads; never their content."""
    namespace = request.headers.get("x-namespace") or request.path_params.get("namespace", "")
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        payloads = json_format.Parse(body, Payloads())
    except (json_format.ParseError, ValueError, RecursionError):
        # The parser's message can quote the body: say what is expected instead.
        raise Refused(
            400,
            "malformed_body",
            'The body must be protobuf JSON of Payloads: {"payloads": [{"metadata": '
            '{"encoding": "<base64>"}, "data": "<base64>"}]}',
        ) from None

    def note(outcome: str) -> None:
        log.info(
            "codec %s by %s, namespace %r: %d payloads, %s",
            operation,
            caller.client_id,
            namespace[:_NAMESPACE_IN_LOGS],
            len(payloads.payloads),
            outcome,
        )

    try:
        converted = await apply(payloads.payloads)
    except DecryptionError as error:
        note(f"refused (key {error.key_id!r})")
        journey.codec_request(operation, caller.client_id, "refused")
        raise Refused(422, "undecryptable", str(error)) from None
    note("ok")
    journey.codec_request(operation, caller.client_id, "ok")
    return Response(
        json_format.MessageToJson(Payloads(payloads=converted), indent=None),
        media_type="application/json",
    )


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse a form posted from anywhere but this server's own pages: the `Origin` header
    must be `settings.codec_origin`, else this request's own scheme and host. Browsers send
    it with every POST; a request without it is refused too."""
    if not browser.from_own_origin(request, settings.codec_origin):
        raise Refused(
            403,
            "foreign_origin",
            "This form is accepted only from the codec server's own pages "
            "(the Origin header is missing or names another site)",
        )


def csrf_proof(pepper: bytes, nonce: str) -> str:
    """What the form's hidden field must hold for the nonce in the CSRF cookie."""
    return browser.csrf_proof(pepper, CSRF_PURPOSE, nonce)


def check_csrf(request: Request, pepper: bytes, form: dict[str, list[str]]) -> None:
    nonce = request.cookies.get(CSRF_COOKIE, "")
    proof = form.get(CSRF_FIELD, [""])[0]
    if not browser.csrf_matches(pepper, CSRF_PURPOSE, nonce, proof):
        raise Refused(
            403,
            "csrf_failed",
            "The sign-in form is missing its CSRF proof or is out of date; "
            "reload /login and sign in again",
        )


def sign_in_page(
    request: Request, found: CodecServices, status: int, message: str, next_path: str = "/"
) -> HTMLResponse:
    """The sign-in form with a fresh CSRF nonce (cookie) and its proof (hidden field); after
    signing in, the browser goes to `next_path`."""
    nonce = secrets.token_urlsafe(32)
    body = desk.sign_in_body(
        message, CSRF_FIELD, csrf_proof(found.pepper, nonce), next_path, found.limits()
    )
    answer = desk.page(status, "Sign in", body, found.namespace)
    browser.set_cookie(request, answer, CSRF_COOKIE, nonce, CSRF_SECONDS)
    return answer


def navigating(request: Request) -> bool:
    """Whether the browser is loading a page (rather than a script fetching data)."""
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


async def the_ui(request: Request, found: CodecServices) -> Response:
    """The Temporal UI, for a signed-in support person only, and only to look."""
    principal = await session_caller(request, found)
    if principal is None or principal.role is not Role.SUPPORT:
        if navigating(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        raise Refused(401, "unauthenticated", "Sign in to the support desk first (at /)")
    if not is_read(request.method, raw_path(request)):
        raise Refused(
            403,
            "read_only",
            "The support desk only shows registrations: act through the API, which names you "
            'in the audit trail (README, "Support runbook")',
        )
    origin = browser.own_origin(request, found.settings.codec_origin)
    try:
        if request.url.path == SETTINGS_PATH:
            return await found.ui.settings(request, origin, sign_in=f"{origin}/")
        return await found.ui.stream(request, await read_body(request, MAX_BODY_BYTES))
    except UiUnavailable as error:
        log.warning("support desk: the Temporal UI did not answer (%s)", error)
        raise Refused(
            502, "ui_unavailable", "The Temporal UI is not answering; try again"
        ) from None


def create_codec_app(settings: Settings | None = None) -> FastAPI:
    """The codec server. Settings are read now (CORS origins are fixed at construction);
    the keyring and the account store's engine are set up by the lifespan."""
    configured = settings or load_settings()

    session_lifetime = timedelta(hours=configured.codec_session_hours)
    session_idle_timeout = timedelta(minutes=configured.codec_session_idle_minutes)
    if session_lifetime <= timedelta(0) or session_idle_timeout <= timedelta(0):
        raise ValueError("codec_session_hours and codec_session_idle_minutes must be positive")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url(configured), **configured.pool)
        ui = UiProxy(configured.temporal_ui_url, frozenset({SESSION_COOKIE, CSRF_COOKIE}))
        app.state.services = CodecServices(
            settings=configured,
            engine=engine,
            codec=EncryptionCodec(configured.keyring),
            session_lifetime=session_lifetime,
            session_idle_timeout=session_idle_timeout,
            ui=ui,
        )
        yield
        await ui.aclose()
        await engine.dispose()

    app = FastAPI(
        title="gosreg codec server",
        lifespan=lifespan,
        telemetry=NO_NATIVE_TELEMETRY,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    # Browsers send no credentials on a preflight: the middleware answers it before any route.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=configured.codec_cors_origins,
        allow_credentials=True,
        allow_methods=["POST", "GET", "OPTIONS"],
        allow_headers=["content-type", "x-namespace", "authorization"],
    )

    @app.exception_handler(Refused)
    async def on_refused(request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"code": error.code, "message": error.message}, error.status)

    async def decode(request: Request, caller: SupportCaller, found: ServicesDep) -> Response:
        return await convert(request, caller, "decode", found.codec.decode)

    async def encode(request: Request, caller: SupportCaller, found: ServicesDep) -> Response:
        return await convert(request, caller, "encode", found.codec.encode)

    for prefix in ("", "/{namespace}"):
        app.add_api_route(f"{prefix}/decode", decode, methods=["POST"])
        app.add_api_route(f"{prefix}/encode", encode, methods=["POST"])

    @app.get("/", response_class=HTMLResponse)
    async def start_page(request: Request, found: ServicesDep) -> HTMLResponse:
        principal = await session_caller(request, found)
        if principal is None or principal.role is not Role.SUPPORT:
            return sign_in_page(
                request, found, 200, "Sign in with your support token to open the Temporal UI."
            )
        body = desk.start_body(principal.client_id, found.namespace, datetime.now(UTC))
        return desk.page(200, "Start", body, found.namespace)

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(
        request: Request,
        found: ServicesDep,
        next: str | None = None,
        # Where the UI sends the browser when its API calls are refused (the sign-in ended).
        return_url: Annotated[str | None, Query(alias="returnUrl")] = None,
    ) -> HTMLResponse:
        origin = browser.own_origin(request, found.settings.codec_origin)
        return sign_in_page(
            request,
            found,
            200,
            "Sign in with your support token to see registrations decoded in the Temporal UI "
            "(again, if your sign-in has ended).",
            desk.safe_next(next or return_url, origin),
        )

    @app.post("/login", response_model=None)
    async def login(request: Request, found: ServicesDep) -> Response:
        check_origin(request, found.settings)
        form = parse_qs((await read_body(request, MAX_FORM_BYTES)).decode(errors="replace"))
        check_csrf(request, found.pepper, form)
        token = form.get("token", [""])[0].strip()
        next_path = desk.safe_next(form.get("next", [""])[0])
        principal = await principal_of(found, token)
        if principal is None:
            return sign_in_page(
                request, found, 401, "That token is unknown, expired or revoked.", next_path
            )
        if principal.role is not Role.SUPPORT:
            return sign_in_page(
                request,
                found,
                403,
                f"A {principal.role} token cannot sign in here; only support can.",
                next_path,
            )
        session_id = await from_store(
            staff_sessions.open_session(
                found.engine,
                found.pepper,
                principal,
                token,
                lifetime=found.session_lifetime,
                idle_timeout=found.session_idle_timeout,
                replacing=request.cookies.get(SESSION_COOKIE),
            )
        )
        log.info("codec sign-in by %s", principal.client_id)
        # Post/redirect/get: a reload of the next page does not post the token again.
        answer = RedirectResponse(next_path, status_code=303)
        seconds = int(found.session_lifetime.total_seconds())
        browser.set_cookie(request, answer, SESSION_COOKIE, session_id, seconds)
        browser.delete_cookie(answer, CSRF_COOKIE)
        return answer

    @app.post("/logout", response_class=HTMLResponse)
    async def logout(request: Request, found: ServicesDep) -> HTMLResponse:
        check_origin(request, found.settings)
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id is not None:
            closed = await from_store(
                staff_sessions.close_session(found.engine, found.pepper, session_id)
            )
            if closed is not None:
                log.info("codec sign-out by %s", closed)
        answer = sign_in_page(request, found, 200, "Signed out.")
        browser.delete_cookie(answer, SESSION_COOKIE)
        return answer

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_route(exposition.PATH, exposition.metrics, include_in_schema=False)

    # Last: whatever no route above answers is the Temporal UI's.
    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def support_desk(request: Request, found: ServicesDep) -> Response:
        return await the_ui(request, found)

    return app


app = create_codec_app()
