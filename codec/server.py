"""The codec server: Temporal's remote codec protocol, for support staff only.

    python -m codec [--host H] [--port P]       (uvicorn codec.server:app also works)

The Temporal Web UI and the `temporal` CLI cannot read encrypted payloads; they send them
here. `POST {endpoint}/decode` and `POST {endpoint}/encode` take and answer protobuf JSON of
`temporal.api.common.v1.Payloads` (`{"payloads": [{"metadata": {"encoding": "<base64>"},
"data": "<base64>"}]}`), with the namespace in the `X-Namespace` header. Only the last path
segment counts, so `{endpoint}/<namespace>/decode` works as well.

Only `support` clients get an answer. The CLI sends its token as a header
(`temporal workflow show --codec-endpoint URL --codec-auth "Bearer gsr_…"`); a browser signs
in once at `/login`, which keeps the token in an HttpOnly cookie for eight hours, and the UI
sends the cookie when "Include cross-origin credentials" is ticked in its codec settings.
Errors are `{"code": ..., "message": ...}` and never quote a payload.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from google.protobuf import json_format
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import Principal, Role, looks_like_token
from codec.encryption import DecryptionError, EncryptionCodec
from settings import Settings, load_settings
from store import access
from store.db import make_engine
from store.embedded import database_url

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_FORM_BYTES = 4096
SESSION_COOKIE = "gosreg_codec_session"
SESSION_SECONDS = 8 * 3600
_NAMESPACE_IN_LOGS = 100  # characters; the header is the caller's to fill

Convert = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


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


def services(request: Request) -> CodecServices:
    found: CodecServices = request.app.state.services
    return found


ServicesDep = Annotated[CodecServices, Depends(services)]


async def principal_of(found: CodecServices, token: str) -> Principal | None:
    """Who holds `token`: None when it is malformed, unknown or revoked."""
    if not looks_like_token(token):
        return None
    try:
        return await access.authenticate(found.engine, found.settings.token_pepper_bytes, token)
    except (OperationalError, InterfaceError, PoolTimeout) as error:
        log.warning("codec: the account store is unreachable: %s", type(error).__name__)
        raise Refused(503, "unavailable", "The account store is unreachable; try again") from None


def presented_token(request: Request) -> str | None:
    """The token a request carries: its `Authorization: Bearer` header when it has one (an
    explicit header wins), else the session cookie set by `/login`."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""
    return request.cookies.get(SESSION_COOKIE)


async def support_caller(request: Request, found: ServicesDep) -> Principal:
    token = presented_token(request)
    if token is None:
        raise Refused(
            401,
            "unauthenticated",
            "Send a support token (Authorization: Bearer <token>) or sign in at /login",
        )
    principal = await principal_of(found, token)
    if principal is None:
        raise Refused(401, "unauthenticated", "The token is unknown or revoked")
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
        raise Refused(422, "undecryptable", str(error)) from None
    note("ok")
    return Response(
        json_format.MessageToJson(Payloads(payloads=converted), indent=None),
        media_type="application/json",
    )


def page(status: int, message: str, *, signed_in: bool = False) -> HTMLResponse:
    """The one page the browser sees: a message, then the sign-in (or sign-out) form."""
    form = (
        '<form method="post" action="logout"><button>Sign out</button></form>'
        if signed_in
        else '<form method="post" action="login">'
        '<label>Support token <input name="token" type="password" autocomplete="off" '
        'size="50" required autofocus></label> <button>Sign in</button></form>'
    )
    return HTMLResponse(
        "<!doctype html><html><head><meta charset=utf-8><title>gosreg codec server</title>"
        "</head><body><h1>gosreg codec server</h1>"
        f"<p>{html.escape(message)}</p>{form}"
        "<p>In the Temporal UI's codec server settings, enter this server's address as the "
        "endpoint and tick <em>Include cross-origin credentials</em>. Open the UI and this "
        "page under the same host name (both 127.0.0.1, or both localhost): the browser "
        "sends the sign-in cookie to the same site only.</p></body></html>",
        status_code=status,
    )


def create_codec_app(settings: Settings | None = None) -> FastAPI:
    """The codec server. Settings are read now (CORS origins are fixed at construction);
    the keyring and the account store's engine are set up by the lifespan."""
    configured = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url(configured))
        app.state.services = CodecServices(
            settings=configured, engine=engine, codec=EncryptionCodec(configured.keyring)
        )
        yield
        await engine.dispose()

    app = FastAPI(
        title="gosreg codec server",
        lifespan=lifespan,
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

    @app.get("/login", response_class=HTMLResponse)
    async def login_form() -> HTMLResponse:
        return page(200, "Sign in with a support token to decode payloads in the Temporal UI.")

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request, found: ServicesDep) -> HTMLResponse:
        form = parse_qs((await read_body(request, MAX_FORM_BYTES)).decode(errors="replace"))
        token = form.get("token", [""])[0].strip()
        principal = await principal_of(found, token)
        if principal is None:
            return page(401, "That token is unknown or revoked.")
        if principal.role is not Role.SUPPORT:
            return page(403, f"A {principal.role} token cannot sign in here; only support can.")
        log.info("codec sign-in by %s", principal.client_id)
        answer = page(
            200,
            f"Signed in as {principal.client_id}; you can return to the Temporal UI.",
            signed_in=True,
        )
        answer.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_SECONDS,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
        return answer

    @app.post("/logout", response_class=HTMLResponse)
    async def logout() -> HTMLResponse:
        answer = page(200, "Signed out.")
        answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return answer

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_codec_app()
