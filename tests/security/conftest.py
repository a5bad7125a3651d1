"""Attacks on a real stack: the API over HTTP on loopback in front of a real Temporal dev
server, the worker, the simulators and PostgreSQL (the fixtures of tests/api), and APIs of the
same stack configured otherwise, for the attacks on one setting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType, PendingActivityState, WorkflowIdReusePolicy
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.update.v1 import Request as UpdateRequest
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from api.app import create_app
from registration.callers import Role
from service.explain import local_activity
from serving import ServerThread
from settings import Settings
from store import access
from tests.api.conftest import Tokens, api_url, http, tokens

__all__ = [
    "Tokens",
    "api_url",
    "api_with",
    "fresh_portal",
    "http",
    "keyless_client",
    "start_again",
    "tokens",
]

ApiWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api_with(stack_settings: Settings, stack_worker: None) -> Iterator[ApiWith]:
    """`async with api_with(setting=value, …) as http:` an API of the session's stack (same
    Temporal, worker, PostgreSQL, tokens) whose settings differ by those values."""

    @asynccontextmanager
    async def serve(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = stack_settings.model_copy(update=changes)
        with ServerThread(create_app(settings), name="api-variant", lifespan="on") as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                yield client

    yield serve


@pytest.fixture
async def fresh_portal(store_engine: AsyncEngine, stack_settings: Settings) -> str:
    """A portal token of its own (a leaked one, or a second portal deployment): its per-caller
    limits start from zero."""
    _, token = await access.create_client(
        store_engine, stack_settings.token_pepper_bytes, Role.PORTAL, "another portal"
    )
    return token


# --- someone who can write to the Temporal namespace, without our keys ------------------------


async def keyless_client(settings: Settings) -> Client:
    """A Temporal client with no payload keys, no attestation key and no API token."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


async def start_again(
    client: Client,
    settings: Settings,
    workflow_id: str,
    started: WorkflowExecutionStartedEventAttributes,
) -> None:
    """Send a start copied from history (header and encrypted input as they are) again."""
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=settings.temporal_namespace,
            workflow_id=workflow_id,
            workflow_type=started.workflow_type,
            task_queue=started.task_queue,
            input=started.input,
            header=started.header,
            identity="an operator without our keys",
            request_id=str(uuid.uuid4()),
            workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        )
    )


async def audit_lines(
    http: httpx.AsyncClient,
    support_token: str,
    registration_id: str,
    event: str,
    *,
    more_than: int = 0,
    looks: int = 30,
) -> list[dict[str, Any]]:
    """The registration's audit lines of `event`, looked at until there are more than
    `more_than` of them or `looks` looks were made (the workflow writes its lines shortly
    after a step): a test that counts a step applied twice waits for the second."""
    lines: list[dict[str, Any]] = []
    for _ in range(looks):
        trail = await http.get(
            f"/v1/support/registrations/{registration_id}/audit",
            params={"limit": 500},
            headers={"Authorization": f"Bearer {support_token}"},
        )
        assert trail.status_code == 200, trail.text
        lines = [line for line in trail.json()["lines"] if line["event"] == event]
        if len(lines) > more_than:
            break
        await asyncio.sleep(0.1)
    return lines


async def support_resends_letter(
    http: httpx.AsyncClient, support_token: str, registration_id: str
) -> None:
    """Support re-sends the letter (the citizen called: it never came)."""
    resent = await http.post(
        f"/v1/support/registrations/{registration_id}/resend-letter",
        json={"reason": "the citizen called: the letter never came"},
        headers={"Authorization": f"Bearer {support_token}"},
    )
    assert resent.status_code == 200, resent.text


def activities_run(history: WorkflowHistory) -> list[str]:
    """The activities a run scheduled, in order: regular ones (as scheduled) and local ones (as
    their markers record them; store writes run locally since patch `local-store-1`)."""
    names = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif (local := local_activity(event)) is not None:
            names.append(local["activity_type"])
    return names


def next_registration_id(registration_id: str) -> str:
    """The id a contact's next registration is started under."""
    prefix, _, attempt = registration_id.rpartition("-")
    return f"{prefix}-{int(attempt) + 1}"


async def accepted_update(
    client: Client, registration_id: str, update: str
) -> tuple[str, UpdateRequest]:
    """The run that accepted the registration's `update`, and the request as history keeps it
    (what someone who can read the namespace lifts): the current run's, or an earlier one's
    if the registration has continued as new since."""
    run_id = (await client.get_workflow_handle(registration_id).describe()).run_id
    while run_id:
        history = await client.get_workflow_handle(registration_id, run_id=run_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                if request.input.name == update:
                    return run_id, request
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
    raise AssertionError(f"no run of {registration_id} accepted {update}")


async def running_activity(client: Client, workflow_id: str, activity_type: str) -> tuple[str, str]:
    """The run id and activity id of the started `activity_type` of `workflow_id`, as anyone
    who can read the namespace sees them (describe: pending activities); up to 30 s, since a
    loaded machine starts activities late."""
    for _ in range(600):
        try:
            description = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:  # not started yet
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.05)
            continue
        for pending in description.raw_description.pending_activities:
            if (
                pending.activity_type.name == activity_type
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ):
                return description.run_id or "", pending.activity_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"{activity_type} never ran for {workflow_id}")
