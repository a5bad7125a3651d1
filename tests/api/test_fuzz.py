"""The API against its own OpenAPI document.

schemathesis fuzzes every operation of the real app, served on loopback in front of the
session's stack, with the token of the role that owns it. Every answer must be one the document
promises: no 5xx, a documented status code, a body matching the documented schema, a documented
content type. Made-up ids and bodies mostly end in validation or 404, so generated requests also
go to live registrations (one just started, one awaiting identity confirmation) to check the
successful answers and the workflow's refusals too, and to ids no registration can have.

The fuzzing blocks (it uses requests), so each operation runs in a thread while the test awaits
it. The session's event loop, where the Temporal worker lives, keeps running meanwhile. A sync
test would freeze the worker and turn every step into a 503 at the RPC deadline.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
import schemathesis
from fastapi import APIRouter
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode

from api.app import create_app
from api.routers import clerks, health, partners, portal, support
from simulators.control import SimulatorControl
from simulators.server import RunningSimulators
from tests.api.conftest import Tokens
from tests.data import PROFILE, new_phone

# Bounded and deterministic: the same requests on every run, about a second per operation.
EXAMPLES_PER_OPERATION = 25
REQUEST_TIMEOUT_SECONDS = 15
OPERATION_DEADLINE_SECONDS = 120
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
# Ids no registration has and that must not reach the store or Temporal unchecked: a NUL byte
# (PostgreSQL refuses it in text), more than Temporal's 1000-byte id limit, non-ASCII.
HOSTILE_IDS = ["reg-\x00", "\x00", "r" * 1001, "reg-é", "reg- x"]
# How the body is framed is the HTTP server's business: it refuses a malformed framing header
# (`content-length: Pt`) with a bare 400 before the request reaches the API, so no document of
# the API can promise that answer. Generated cases that set one are not the API's.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})

Operation = APIOperation[Any, Any, Any, Any]


def operations() -> list[tuple[str, str]]:
    """Every operation of the app (one test each), cancellations last: they end the live
    registrations the other operations are fuzzed against."""
    document = create_app().openapi()
    found = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    return sorted(found, key=lambda operation: operation[1].endswith("/cancel"))


OPERATIONS = operations()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(tokens: Tokens, operation: Operation) -> str | None:
    """The token of the role that owns the operation; health needs none."""
    tags = operation.tags or []
    if "health" in tags:
        return None
    if "partners" in tags:
        return tokens.bank if "/bank/" in operation.path else tokens.esignature
    return {"portal": tokens.portal, "clerks": tokens.clerk, "support": tokens.support}[tags[0]]


# --- live registrations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    """Registrations that exist, for generated requests to get past the 404."""

    started: str
    started_phone: str
    at_identity: str
    at_identity_phone: str
    sessions: dict[str, str]
    """Each live registration's citizen session (`X-Registration-Session`)."""


async def start(http: httpx.AsyncClient, tokens: Tokens, phone: str) -> tuple[str, str]:
    answer = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "phone": phone},
        headers=bearer(tokens.portal),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["registration_id"], answer.json()["session"]


async def reach_identity_stage(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, phone: str
) -> tuple[str, str]:
    registration_id, session = await start(http, tokens, phone)
    base = f"/v1/registrations/{registration_id}"
    headers = bearer(tokens.portal) | {"X-Registration-Session": session}
    password = "Zvezda#Polar7"
    for method, path, body in (
        ("POST", "/contact-code", {"code": await outbox.sms_code(phone)}),
        ("PUT", "/password", {"password": password, "password_repeated": password}),
        ("PUT", "/profile", PROFILE.model_dump(mode="json")),
    ):
        answer = await http.request(method, base + path, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    for _ in range(200):
        state = (await http.get(base, headers=headers)).json()
        if state["stage"] == "identity_confirmation":
            return registration_id, session
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached identity confirmation: {state}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(
    api_url: str, tokens: Tokens, stack_simulators: RunningSimulators
) -> AsyncIterator[Live]:
    phones = new_phone(), new_phone()
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=30) as http,
        SimulatorControl(stack_simulators.url) as outbox,
    ):
        (started, first), (at_identity, second) = await asyncio.gather(
            start(http, tokens, phones[0]), reach_identity_stage(http, tokens, outbox, phones[1])
        )
    yield Live(started, phones[0], at_identity, phones[1], {started: first, at_identity: second})


# --- the fuzzing -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema(api_url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{api_url}/openapi.json")


def strategy(operation: Operation, live: Live) -> st.SearchStrategy[Case[Any]]:
    """The schema's own examples, valid and invalid requests, and valid requests aimed at the
    live registrations (by id, by the clerk's search, by starting again) and at hostile ids."""
    positive, negative = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
    aimed: list[st.SearchStrategy[Case[Any]]] = []
    if "{registration_id}" in operation.path:
        aimed = [
            operation.as_strategy(positive, path_parameters={"registration_id": registration_id})
            for registration_id in (live.started, live.at_identity)
        ] + [
            operation.as_strategy(
                positive,
                path_parameters={"registration_id": registration_id},
                headers={"X-Registration-Session": session},
            )
            for registration_id, session in live.sessions.items()
            if operation.path.startswith("/v1/registrations/")
        ]
        aimed.append(
            st.sampled_from(HOSTILE_IDS).flatmap(
                lambda hostile: operation.as_strategy(
                    positive, path_parameters={"registration_id": hostile}
                )
            )
        )
    elif operation.path == "/v1/clerk/registrations/search":
        aimed = [
            operation.as_strategy(positive, body={"snils": PROFILE.snils}),
            operation.as_strategy(positive, body={"phone": live.at_identity_phone}),
        ]
    elif operation.path == "/v1/registrations" and operation.method.upper() == "POST":
        aimed = [
            operation.as_strategy(
                positive, body={"surname": "Иванова", "name": "Мария", "phone": phone}
            )
            for phone in (live.started_phone, new_phone())
        ]
    return st.one_of(
        *operation.get_strategies_from_examples(),
        operation.as_strategy(positive),
        operation.as_strategy(negative),
        *aimed,
    )


def fuzz(operation: Operation, live: Live, headers: dict[str, str]) -> None:
    with requests.Session() as session:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,  # each request has a timeout instead
            phases=[Phase.explicit, Phase.generate],  # no shrinking against a live server
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy(operation, live))
        def every_answer_is_documented(case: Case[Any]) -> None:
            assume(not FRAMING_HEADERS & {name.lower() for name in case.headers or {}})
            # Negative cases that target the security scheme go without the token on purpose
            # (schemathesis drops it): their answer is the documented 401.
            case.call_and_validate(
                session=session, headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_SECONDS
            )

        every_answer_is_documented()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_every_answer_is_documented(
    method: str, path: str, api_schema: BaseSchema, tokens: Tokens, live: Live
) -> None:
    operation = api_schema[path][method]
    token = token_for(tokens, operation)
    await asyncio.wait_for(
        asyncio.to_thread(fuzz, operation, live, bearer(token) if token else {}),
        OPERATION_DEADLINE_SECONDS,
    )


# --- the document itself ---------------------------------------------------------------------


async def test_docs_are_served(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text


async def test_every_route_is_documented_with_its_errors(http: httpx.AsyncClient) -> None:
    served = await http.get("/openapi.json")
    assert served.status_code == 200
    document: dict[str, Any] = served.json()
    paths: dict[str, dict[str, Any]] = document["paths"]

    def routes(*routers: APIRouter) -> set[tuple[str, str]]:
        return {
            (method, route.path)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
        }

    guarded = routes(portal.router, clerks.router, partners.router, support.router)
    open_routes = routes(health.router)
    assert {(m.upper(), path) for path, item in paths.items() for m in item} == (
        guarded | open_routes
    )

    required = set(document["components"]["schemas"]["Problem"]["required"])
    assert {"type", "title", "status", "detail", "code", "message"} <= required
    problem = {"$ref": "#/components/schemas/Problem"}
    for method, path in guarded:
        responses = paths[path][method.lower()]["responses"]
        for status in ("401", "403", "413", "422", "431", "503"):
            assert status in responses, f"{method} {path} does not document {status}"
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert set(response["content"]) == {"application/problem+json"}, (method, path)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == problem, f"{method} {path} documents {status} as {schema}"
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"], f"{method} {path} {status}"


async def test_every_operation_has_an_id_a_described_tag_and_examples(
    http: httpx.AsyncClient,
) -> None:
    document: dict[str, Any] = (await http.get("/openapi.json")).json()
    described = {tag["name"] for tag in document["tags"] if tag.get("description")}
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            ids.append(operation["operationId"])
            assert re.fullmatch(r"[a-z][A-Za-z]+", operation["operationId"]), where
            assert set(operation["tags"]) <= described, where
            if "requestBody" in operation:
                assert operation["requestBody"]["content"]["application/json"]["examples"], where
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    assert "example" in media or "examples" in media, f"{where} {status}"
    assert len(ids) == len(set(ids))
