"""Sixth adversarial pass (medium): a contact's next registration id can be squatted in
Temporal, so that the contact can never register again.

Actor: anyone who can write to the Temporal namespace without our keys (docs/security.md:
they may terminate or cancel workflows; nothing says they may stop a person from ever
registering).

Impact: registration ids are predictable from what the namespace shows. A contact's
registrations are `reg-<digest>-1`, `reg-<digest>-2`, … (`registration_id_for`): the
`attempt` is the number of the contact's closed registrations plus one, and the digest is in
every id the namespace lists. So once a registration was cancelled, expired or refused, the
id the contact's next start will use is known. Starting any workflow under that id first
(no proof, no keys, no payload needed: `WorkflowIDReusePolicy.REJECT_DUPLICATE` keeps even a
run that failed at once from being replaced) makes every later start of that person answer
`503 unavailable` "The previous registration of this contact ended abnormally: contact
support" (`Registrations._start_or_join`). The store never closes the squatted id (it never
opened it), so the count, and the id, never move on: the person is locked out of the service
for good. A script can do this for every contact whose id ever appeared in the namespace.

Suggested fix: do not let the next id be taken by a run that is not ours. For example, make
the id unpredictable (a random suffix recorded in the store when the start is claimed, in
one transaction per contact, instead of a count of closed rows), or, when the id is taken by
a run the store does not know (`open_registration` never ran for it), skip to the next
attempt instead of refusing; a run without our start proof is not a registration.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus

from settings import Settings
from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.journeys import age_code_sends
from tests.security.conftest import keyless_client, next_registration_id


async def test_a_squatted_next_registration_id_does_not_lock_the_contact_out(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    first = citizen.id
    cancelled = await citizen.call("POST", "/cancel", {"reason": "changed my mind"})
    assert cancelled.json()["stage"] == "cancelled", cancelled.text
    # The contact's last code is old enough that a new registration may send one at once.
    await age_code_sends(store_engine, citizen.phone, timedelta(hours=1))

    # The operator without keys saw `first` in the namespace and takes the next id: a run of
    # our workflow type without a proof, which fails at its first task.
    client = await keyless_client(stack_settings)
    squatted = next_registration_id(first)
    handle = await client.start_workflow(
        "Registration",
        {
            "registration_id": squatted,
            "person": {"surname": "X", "name": "Y"},
            "contact": {"channel": "sms", "address": "+70000000000"},
        },
        id=squatted,
        task_queue=stack_settings.temporal_task_queue,
    )
    try:
        for _ in range(100):
            status = (await handle.describe()).status
            if status is not WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.1)
        assert status is WorkflowExecutionStatus.FAILED, status  # refused: no proof
        again = await citizen.start()
        assert again.status_code == 201, (
            f"after an outsider started a workflow under the next id {squatted} ({status}), the "
            f"person cannot register again: {again.status_code} {again.text}"
        )
        assert citizen.id not in (first, squatted)
    finally:
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test cleanup")


async def test_a_next_id_squatted_by_a_run_nobody_serves_neither_hangs_nor_500s(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
) -> None:
    """The same squat with a run that stays RUNNING (a task queue no worker polls): the
    start believes the contact's registration is running, and asks it for its state, which no
    worker answers. Impact: the same lock-out, answered with an error after the query's
    timeout instead of a start."""
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    first = citizen.id
    cancelled = await citizen.call("POST", "/cancel", {"reason": "changed my mind"})
    assert cancelled.json()["stage"] == "cancelled", cancelled.text
    await age_code_sends(store_engine, citizen.phone, timedelta(hours=1))

    client = await keyless_client(stack_settings)
    squatted = next_registration_id(first)
    handle = await client.start_workflow(
        "Registration",
        {"squat": True},
        id=squatted,
        task_queue=f"nobody-{uuid.uuid4().hex}",
    )
    try:
        again = await citizen.start()
        assert again.status_code == 201, (
            f"after an outsider started a never-served workflow under the next id {squatted}, "
            f"a start of that person answers {again.status_code} {again.text[:300]}"
        )
        assert citizen.id not in (first, squatted)
    finally:
        await handle.terminate("test cleanup")
