"""Log lines carry the trace they were written in, and the ids bound for the request."""

from __future__ import annotations

import contextvars
import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from service import logs


def line(message: str) -> dict[str, str]:
    record = logging.LogRecord("gosreg.test", logging.INFO, __file__, 1, message, (), None)
    parsed: dict[str, str] = json.loads(logs.JsonFormatter("api").format(record))
    return parsed


def test_a_line_written_in_a_span_names_its_trace_and_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("step") as span:
        written = line("inside")
    context = span.get_span_context()
    assert written["trace_id"] == f"{context.trace_id:032x}"
    assert written["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in line("outside")


def test_ids_bound_for_a_request_are_on_every_line_of_it() -> None:
    def request() -> tuple[dict[str, str], dict[str, str]]:
        logs.bind(client_id="cli_portal", registration_id="reg-abc-1")
        first = line("one")
        logs.bind(registration_id=None)  # None keeps what was bound
        return first, line("two")

    first, second = contextvars.copy_context().run(request)
    for written in (first, second):
        assert written["client_id"] == "cli_portal" and written["registration_id"] == "reg-abc-1"
    assert "client_id" not in line("another request")


def test_an_access_line_keeps_the_path_and_drops_the_query_with_a_links_token() -> None:
    query = "registration=reg-abc-1&token=7Q2ZK9M4XW8R1T6V3N5B0C2D4E"
    args = ("127.0.0.1:5123", "GET", f"/set-password?{query}", "1.1", 303)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s "%s %s HTTP/%s" %d', args, None
    )

    assert logs.without_query(record)
    written = json.loads(logs.JsonFormatter("api").format(record))["msg"]

    assert written == '127.0.0.1:5123 "GET /set-password?… HTTP/1.1" 303'
    assert "token" not in written
