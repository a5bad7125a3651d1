"""Fourth adversarial pass, regression guard: a terminated registration started again with its
own first start does not reach the phone again.

Actor: anyone who can write to the Temporal namespace without our keys (terminating is what
docs/security.md concedes to them).

Probe: the store refuses a copied first start only for a registration it has closed; a
terminated one is never closed, so its first start, copied from history with a valid proof,
runs again and sends "code number 1" once more, which `claim_send` allows as a retried
activity without counting. What keeps the phone quiet is that the SMS gateway deduplicates
the send by its key (registration and sequence), so a loop of terminate + copied start makes
no extra SMS. This guards that; it would fail if the send's key ever named the run.
(The revived run still restarts the registration's state at the contact stage behind the
store's back: see the report of the fourth pass.)
"""

from __future__ import annotations

import asyncio

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from settings import Settings
from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.security.conftest import keyless_client, start_again

ROUNDS = 3


async def test_a_terminated_registration_started_again_sends_no_more_codes(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]

    client = await keyless_client(stack_settings)
    handle = client.get_workflow_handle(citizen.id)
    first = (await handle.fetch_history()).events[0]
    assert first.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    started = first.workflow_execution_started_event_attributes
    sms_before = len(await outbox.messages(to=citizen.phone, kind="sms"))

    try:
        for _ in range(ROUNDS):
            await client.get_workflow_handle(citizen.id).terminate("an operator without keys")
            await start_again(client, stack_settings, citizen.id, started)
            await asyncio.sleep(1.0)  # the revived run's first activities
        sms_after = len(await outbox.messages(to=citizen.phone, kind="sms"))
        status = (await client.get_workflow_handle(citizen.id).describe()).status
        assert sms_after == sms_before, (
            f"a terminated registration, started {ROUNDS} times again from its own signed first "
            f"start, sent the phone {sms_after - sms_before} more SMS codes that no budget "
            f"counted (the revived run is {status})"
        )
    finally:
        revived = client.get_workflow_handle(citizen.id)
        if (await revived.describe()).status is WorkflowExecutionStatus.RUNNING:
            await revived.terminate("test cleanup")
