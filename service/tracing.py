"""OpenTelemetry traces: one trace per citizen step, from the API route through the Temporal
client to the workflow's update and the activities it runs, down to the HTTP call to an agency.

Configured by the standard variables only: with `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, each process exports its spans over OTLP/HTTP, named
by `OTEL_SERVICE_NAME` or its own name, with `OTEL_EXPORTER_OTLP_HEADERS` and the rest read by
the exporter itself. With nothing configured (or `OTEL_SDK_DISABLED=true`, or
`OTEL_TRACES_EXPORTER=none`) nothing is instrumented at all: tracing then costs nothing.

Span names and attributes carry route templates, workflow and activity types and ids; never a
path with a query, a body or a header. `tests/integration/test_tracing.py` checks it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span
from temporalio.client import Plugin
from temporalio.contrib.opentelemetry import (
    OpenTelemetryPlugin,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
NO_NATIVE_TELEMETRY: Any = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}
"""For `FastAPI(telemetry=...)`: FastAPI traces natively whenever a global provider is set,
recording raw paths and queries; our apps trace only as `Tracing` says (and scrubs)."""
# Attributes the HTTP instrumentation sets from the raw request: a path holds a registration
# id, a query a link's token. Each is replaced by the route template.
RAW_REQUEST_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.path", "url.query")


def configured(environment: Mapping[str, str] | None = None) -> bool:
    """Whether the standard variables ask for traces to be exported."""
    env = os.environ if environment is None else environment
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


@dataclass(frozen=True)
class Tracing:
    """What one process traces with: a provider, or None for no tracing at all.

    Temporal's OpenTelemetry plugin carries the caller's trace into update and signal
    handlers, so a citizen step is one trace from the API route to the activities its update
    runs. Its workflow side reads the process's global provider, which must be replay-safe
    (span ids drawn deterministically): `installed` makes it the global one."""

    provider: ReplaySafeTracerProvider | None = None

    @classmethod
    def from_environment(cls, service: str) -> Tracing:
        """A provider exporting over OTLP when the standard variables say so, else none."""
        if not configured():
            return cls()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        name = os.environ.get("OTEL_SERVICE_NAME", service)
        provider = create_tracer_provider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        return cls.installed(provider)

    @classmethod
    def installed(cls, provider: ReplaySafeTracerProvider) -> Tracing:
        """Tracing with `provider` as the process's global provider; a process has one, so
        when one is installed already, that one is used (give it your span processors)."""
        current = trace.get_tracer_provider()
        if isinstance(current, ReplaySafeTracerProvider):
            return cls(current)
        trace.set_tracer_provider(provider)
        return cls(provider)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def plugins(self) -> list[Plugin]:
        """Client plugins that carry the trace into workflows and activities (a worker takes
        them from its client)."""
        return [OpenTelemetryPlugin(add_temporal_spans=True)] if self.provider is not None else []

    def instrument_app(self, app: FastAPI) -> None:
        if self.provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            server_request_hook=_route_only,
            excluded_urls="/health/.*,/metrics",
            exclude_spans=["receive", "send"],
        )

    def instrument_http(self, client: httpx.AsyncClient) -> None:
        if self.provider is None:
            return
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(
            client, tracer_provider=self.provider, request_hook=_party_only
        )

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def _route_only(span: Span, scope: dict[str, Any]) -> None:
    """Keep the route template, drop the raw path and query (ids, a link's token)."""
    if not span.is_recording():
        return
    # The instrumentation named the span after the route template ("POST /v1/…/{id}").
    route = getattr(span, "name", "").partition(" ")[2] or "unmatched"
    for name in RAW_REQUEST_ATTRIBUTES:
        span.set_attribute(name, route)


def _party_only(span: Span, request: Any) -> None:
    """A call to a party shows its host and path, never a query."""
    if not span.is_recording():
        return
    url = getattr(request, "url", None)
    if url is not None:
        clean = str(httpx.URL(str(url)).copy_with(query=None))
        for name in ("http.url", "url.full"):
            span.set_attribute(name, clean)


def current_ids() -> dict[str, str]:
    """The current span's trace and span ids, for log lines; empty outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
