"""Seventh adversarial pass: a contact's next registration id squatted by a run on OUR task
queue that never fails.

Actor: anyone who can write to the Temporal namespace without our keys.

Impact: the sixth pass made a start skip an id "held by a workflow the store never opened that
does not run on our task queue", assuming that a run on our queue without our proof "fails at
its first task". A run whose input our worker cannot even read (a workflow type of ours with an
input that is not a `RegistrationInput`) does not fail: its first workflow task fails and is
retried for ever, so it stays RUNNING on our task queue. `_taken_by_another` then calls it
ours; the start queries it, no worker answers, and every later start of that person is an
error: the contact is locked out of the service for good, as in the sixth pass.

Suggested fix: decide "ours" by the store only (`repository.is_known`, or a claim row written
before `start_workflow`), never by the task queue; an unknown id held by any run is skipped.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus

from settings import Settings
from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.journeys import age_code_sends
from tests.security.conftest import keyless_client, next_registration_id


async def test_a_next_id_squatted_on_our_queue_with_an_unreadable_input_does_not_lock_out(
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
    await age_code_sends(store_engine, citizen.phone, timedelta(hours=1))

    client = await keyless_client(stack_settings)
    squatted = next_registration_id(first)
    handle = await client.start_workflow(
        "Registration",
        {"squat": True},  # not a RegistrationInput: the worker cannot even read it
        id=squatted,
        task_queue=stack_settings.temporal_task_queue,
    )
    try:
        await asyncio.sleep(3)  # the first workflow task has been tried (and failed)
        status = (await handle.describe()).status
        again = await citizen.start()
        assert again.status_code == 201, (
            f"an outsider's run under the next id {squatted} on our task queue ({status}) "
            f"keeps the person from registering: {again.status_code} {again.text[:300]}"
        )
        assert citizen.id not in (first, squatted)
    finally:
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test cleanup")
