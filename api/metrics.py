"""The API's request metrics: counts and latencies by route template, never by raw path.

A raw path holds registration ids (and a caller could make up any number of paths), so the
label is the template the request was routed to (`/v1/registrations/{registration_id}`), or
`unmatched` when no route took it (404, or refused before routing: 413, 431). Methods outside
HTTP's usual ones are `other`. Served with the business metrics at `/metrics`
(`metrics.exposition`).
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "gosreg_http_requests_total",
    "HTTP requests answered by the API, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "gosreg_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    # A step waits for the workflow's answer, which may include an activity (up to 40 s).
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The path template of the route that took the request, once routing is done."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestMetrics:
    """Pure ASGI middleware counting every HTTP request and timing it, from the first byte
    the app sees to the response's start line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers otherwise

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            DURATION.labels(method=method, route=route).observe(time.perf_counter() - started)
