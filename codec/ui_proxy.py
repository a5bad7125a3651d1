"""The Temporal Web UI, served by the codec server under its own origin: the support desk.

The dev server's UI asks the codec server to decode without credentials
(`includeCredentials: false`, which `temporal server start-dev` cannot change), so a support
sign-in at the codec server did nothing until each browser was set up by hand. Served from the
codec server's origin, the UI's call to `{origin}/decode` is same-origin and the browser sends
the session cookie with it: signing in is all it takes.

`UiProxy` forwards a request to the UI as it came (method, path, query, body, headers) and
streams the answer back, with three changes:
- the codec server's own cookies never reach the UI (it has no use for them);
- the UI's settings (`/api/v1/settings`) name this origin as the codec endpoint, point its
  codec error banner at the sign-in page, and turn the UI's write actions off;
- only reads pass: GET and HEAD, and POST of a workflow query (current details, the state).
  Support acts through the API, which names them in the audit trail; a cancel, terminate,
  reset, signal or update sent through the desk is refused (403).
Who may use the desk at all is the codec server's decision (`codec.server`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

SETTINGS_PATH = "/api/v1/settings"
STATIC_PREFIX = "/_app/"
# A workflow query, on the path exactly as it came: plain segments (no `.` or `..`, no percent
# escapes), so that no reading of the path by the UI server can route it anywhere else.
_SEGMENT = r"[\w@:-][\w.@:-]*"
_QUERY = re.compile(rf"^/api/v1/namespaces/{_SEGMENT}/workflows/{_SEGMENT}/query/{_SEGMENT}$")
# Hop-by-hop headers (RFC 9110, 7.6.1) belong to one connection, not to the message; `host`
# is the upstream's own.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
TIMEOUT = httpx.Timeout(10.0, read=70.0)  # the UI long-polls a running workflow's history
CODEC_ERROR = (
    "The support desk did not decode this page: your sign-in may have ended, or the codec "
    "server is unwell. Sign in again from the desk's start page."
)


class UiUnavailable(Exception):
    """The UI did not answer (the dev server is down or starting)."""


def raw_path(request: Request) -> str:
    """The request's path as the browser sent it (not percent-decoded)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    return raw.decode("latin-1")


def is_read(method: str, path: str) -> bool:
    """Whether a request to the UI only reads: GET or HEAD, or POST of a workflow query
    (`path` as sent: `raw_path`)."""
    return method in ("GET", "HEAD") or (method == "POST" and _QUERY.match(path) is not None)


def forwarded_headers(
    headers: Mapping[str, str], own_cookies: frozenset[str]
) -> list[tuple[str, str]]:
    """The request's headers as the UI gets them: hop-by-hop ones dropped, and the Cookie
    header without `own_cookies` (the codec server's sign-in and CSRF cookies)."""
    out = []
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _NOT_FORWARDED:
            continue
        if lowered == "cookie":
            kept = [
                part.strip()
                for part in value.split(";")
                if part.strip() and part.strip().split("=", 1)[0] not in own_cookies
            ]
            if kept:
                out.append((name, "; ".join(kept)))
            continue
        out.append((name, value))
    return out


def desk_settings(upstream: dict[str, Any], origin: str, sign_in: str) -> dict[str, Any]:
    """The UI's settings as the desk serves them: decode through this origin (same-origin, so
    the session cookie goes along), a codec error that says where to sign in, no write
    actions, no call from support's browser to Temporal's news feed (it sends the cluster's
    id), and the navigation folded away (it leads to Temporal's own features; the width goes
    to the list's registration columns). Everything else stays as the UI server said."""
    codec = dict(upstream.get("Codec") or {})
    codec.update(
        Endpoint=origin,
        PassAccessToken=False,
        IncludeCredentials=False,
        DefaultErrorMessage=CODEC_ERROR,
        DefaultErrorLink=sign_in,
    )
    return {
        **upstream,
        "Codec": codec,
        "DisableWriteActions": True,
        "DisableNewsFetch": True,
        "NavCollapsedByDefault": True,
    }


def access_line(record: logging.LogRecord) -> bool:
    """A filter for uvicorn's access log: the path without its query string, which on the
    desk carries decoded text (the UI renders user metadata through `/render?content=…`) and
    visibility queries; and no line for the UI's static files."""
    args = record.args
    if record.name != "uvicorn.access" or not isinstance(args, tuple) or len(args) < 3:
        return True
    path = str(args[2]).split("?", 1)[0]
    if path.startswith(STATIC_PREFIX):
        return False
    record.args = (*args[:2], path, *args[3:])
    return True


class UiProxy:
    """Forwards requests to the UI at `upstream` (scheme, host and port; no path)."""

    def __init__(self, upstream: str, own_cookies: frozenset[str]) -> None:
        self._client = httpx.AsyncClient(base_url=upstream.rstrip("/"), timeout=TIMEOUT)
        self._own_cookies = own_cookies

    async def aclose(self) -> None:
        await self._client.aclose()

    async def forward(self, request: Request, body: bytes) -> httpx.Response:
        """Send `request` (with `body`) to the UI; the answer's body is not read yet."""
        target = raw_path(request)
        if request.url.query:
            target += f"?{request.url.query}"
        outgoing = self._client.build_request(
            request.method,
            target,
            headers=forwarded_headers(request.headers, self._own_cookies),
            content=body,
        )
        try:
            return await self._client.send(outgoing, stream=True)
        except httpx.HTTPError as error:
            raise UiUnavailable(type(error).__name__) from None

    async def settings(self, request: Request, origin: str, sign_in: str) -> Response:
        """The UI's settings, rewritten for the desk (`desk_settings`)."""
        answer = await self.forward(request, b"")
        try:
            await answer.aread()  # decompressed: the rewritten answer is sent as it is
        finally:
            await answer.aclose()
        if answer.status_code == 200:
            patched = desk_settings(json.loads(answer.content), origin, sign_in)
            rewritten: Response = JSONResponse(patched)
        else:
            media_type = answer.headers.get("content-type")
            rewritten = Response(answer.content, answer.status_code, media_type=media_type)
        rewritten.raw_headers += _headers(answer, only=("set-cookie",))
        return rewritten

    async def stream(self, request: Request, body: bytes) -> Response:
        """The UI's answer to `request`, streamed back as it came (compressed or not)."""
        answer = await self.forward(request, body)
        streamed = StreamingResponse(
            answer.aiter_raw(), answer.status_code, background=BackgroundTask(answer.aclose)
        )
        streamed.raw_headers = _headers(answer)
        return streamed


def _headers(
    upstream: httpx.Response, only: tuple[str, ...] | None = None
) -> list[tuple[bytes, bytes]]:
    """The upstream answer's headers to pass on (all but hop-by-hop ones, or `only` these),
    as raw pairs: a repeated header such as Set-Cookie stays repeated."""
    return [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in upstream.headers.multi_items()
        if name.lower() not in _NOT_FORWARDED and (only is None or name.lower() in only)
    ]
