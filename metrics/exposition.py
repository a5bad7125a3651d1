"""This process's metrics (prometheus-client's registry: ours and the process's own) in
Prometheus's text format, as an HTTP route for the API, the codec server and the worker."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import Response

PATH = "/metrics"


def text() -> bytes:
    return generate_latest(REGISTRY)


async def metrics(request: Request) -> Response:
    """`GET /metrics`."""
    return Response(text(), media_type=CONTENT_TYPE_LATEST)
