"""One trace per citizen step: the API route, the Temporal client, the workflow's update and
the activity it runs share one trace; the start's trace reaches the HTTP call to the SMS
gateway. No span carries personal data, a query or a secret. On the real stack, with the
SDK's in-memory exporter in place of OTLP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.opentelemetry import create_tracer_provider

from activities import build_activities
from api.app import create_app
from service.temporal import connect
from service.tracing import Tracing, configured
from serving import ServerThread
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens, tokens
from tests.citizens import bearer
from tests.conftest import worker_of
from tests.data import new_phone

__all__ = ["tokens"]

CODE_ROUTE = "POST /v1/registrations/{registration_id}/contact-code"


def trace_of(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    root = next(span for span in spans if span.name == name)
    assert root.context is not None
    return [
        s for s in spans if s.context is not None and s.context.trace_id == root.context.trace_id
    ]


async def spans_until(exporter: InMemorySpanExporter, name: str) -> Sequence[ReadableSpan]:
    for _ in range(100):
        spans = exporter.get_finished_spans()
        if any(span.name == name for span in spans):
            return spans
        await asyncio.sleep(0.1)
    raise AssertionError(f"no span {name}: {[s.name for s in exporter.get_finished_spans()]}")


def texts(spans: Sequence[ReadableSpan]) -> str:
    lines = []
    for span in spans:
        events = [dict(event.attributes or {}) for event in span.events]
        lines.append(f"{span.name} {dict(span.attributes or {})} {events}")
    return "\n".join(lines)


async def test_a_code_submission_is_one_trace_from_the_api_route_to_the_activity(
    stack_settings: Settings, store_engine: AsyncEngine, tokens: Tokens, outbox: SimulatorControl
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.installed(create_tracer_provider())
    assert tracing.provider is not None
    tracing.provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = stack_settings.model_copy(update={"temporal_task_queue": f"traced-{uuid.uuid4()}"})
    client = await connect(settings, worker=True, tracing=tracing)
    phone = new_phone()
    async with (
        build_activities(settings, store_engine, instrument_http=tracing.instrument_http) as acts,
        worker_of(client, settings, acts),
    ):
        with ServerThread(create_app(settings, tracing), name="traced-api", lifespan="on") as api:
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
                started = await http.post(
                    "/v1/registrations",
                    json={"surname": "Иванова", "name": "Мария", "phone": phone},
                    headers=bearer(tokens.portal),
                )
                assert started.status_code == 201, started.text
                registration_id = started.json()["registration_id"]
                session = started.json()["session"]
                code = await outbox.sms_code(phone)
                answer = await http.post(
                    f"/v1/registrations/{registration_id}/contact-code",
                    json={"code": code},
                    headers=bearer(tokens.portal) | {"X-Registration-Session": session},
                )
                assert answer.json()["accepted"], answer.text

    spans = await spans_until(exporter, "RunActivity:bind_session")
    step = trace_of(spans, CODE_ROUTE)
    names = {span.name for span in step}
    assert {
        CODE_ROUTE,
        "StartWorkflowUpdate:submit_contact_code",
        "HandleUpdate:submit_contact_code",
        "StartActivity:bind_session",
        "RunActivity:bind_session",
    } <= names, names
    start = trace_of(spans, "POST /v1/registrations")
    start_names = {span.name for span in start}
    # One round trip: the start carries update `opened`, answered once the code is sent.
    assert {
        "StartUpdateWithStartWorkflow:Registration",
        "HandleUpdate:opened",
        "RunActivity:send_contact_code",
    } <= start_names, start_names
    assert any(span.name == "POST" for span in start), "the call to the SMS gateway is in it"

    everything = texts(exporter.get_finished_spans())
    for secret in (phone, phone.removeprefix("+"), "Иванова", "Мария", code, session):
        assert secret not in everything, f"{secret!r} in a span"
    assert registration_id not in {s.name for s in exporter.get_finished_spans()}
    assert "?" not in "".join(str(v) for s in step for v in (s.attributes or {}).values())


def test_nothing_is_traced_unless_the_standard_variables_ask_for_it() -> None:
    assert not configured({})
    assert configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not configured(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not configured(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}
    )
    assert Tracing.from_environment("test").plugins() == []
