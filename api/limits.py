"""Size limits on requests, enforced before anything reads them (authentication included).

FastAPI reads and parses a route's body before it runs the route's dependencies, so without a
cap an unauthenticated caller could make the API hold any body in memory just to answer 401.
`RequestLimits` wraps the whole app: headers over `max_header_bytes` are answered 431, a
declared Content-Length over `max_body_bytes` 413 without reading a byte of the body, and a
body of unknown length (chunked) is counted as it streams in and answered 413 the moment it
passes the limit. Both answers are Problem Details (`api.errors.Problem`) and close the
connection, so the rest of an oversized body is never read.

The server cuts header blocks that keep growing on its own (`server_header_limit`), before
the request reaches any ASGI code.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, problem
from settings import Settings, load_settings


def server_header_limit(settings: Settings) -> int:
    """What uvicorn (h11) buffers of an incomplete header block before it drops the
    connection with a bare 400: twice `max_header_bytes`, so that every block up to that size
    reaches `RequestLimits` and gets its 431 in the API's error shape, whatever way it was
    split into packets, while a block that keeps growing is cut by the server."""
    return 2 * settings.max_header_bytes


def header_bytes(scope: Scope) -> int:
    """The request's header block as sent: each `name: value` line with its CRLF."""
    return sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the caller declared; None without one (or a chunked body)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request before it gets here
    return None


class RequestLimits:
    """Pure ASGI middleware: the limits of `settings` (`load_settings()` when None) on every
    HTTP request's headers and body."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        configured = settings or load_settings()
        self.app = app
        self.max_body_bytes = configured.max_body_bytes
        self.max_header_bytes = configured.max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if header_bytes(scope) > self.max_header_bytes:
            await self._refuse(send, 431, "headers_too_large", self._headers_message())
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send, 413, "body_too_large", self._body_message())
            return
        await self._app_with_counted_body(scope, receive, send)

    async def _app_with_counted_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a `receive` that counts the body; past the limit, the caller is
        answered 413 at once and the app is told the client went away (what it sends after
        that is dropped)."""
        received = 0
        response_started = cut_off = False

        async def counted_receive() -> Message:
            nonlocal received, cut_off
            if cut_off:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    cut_off = True
                    if not response_started:
                        await self._refuse(send, 413, "body_too_large", self._body_message())
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if cut_off:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    def _body_message(self) -> str:
        return f"The request body is larger than the limit of {self.max_body_bytes} bytes"

    def _headers_message(self) -> str:
        return f"The request headers are larger than the limit of {self.max_header_bytes} bytes"

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        body = problem(status, code, message).model_dump_json().encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the rest of the request is not read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
