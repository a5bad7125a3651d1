"""Third adversarial pass: a proof lifted from history starts a closed registration again.

Actor: anyone who can write to the Temporal namespace without our keys (an over-privileged
operator, a compromised host on its network; docs/security.md's last actor row). They can read
every history, and a history keeps each start's header (the `gosreg-proof`) next to its input
(ciphertext, but it need not be read, only copied).

Impact: the proof (`service/attestation.py`) binds the workflow id, the workflow type and the
arguments, but nothing that says *which run* it was made for and nothing that can be used
only once. A registration the citizen cancelled (closed in the store, its id "never reused")
is started again by re-sending its own first start, bytes for bytes, with
`ALLOW_DUPLICATE`: the worker finds the proof valid and the cancelled registration runs again
(it sends a new code to the contact, the store's rows and audit trail for that id gain a second
life behind the store's back). The same works for every continue-as-new input in the history,
which carries a whole state (stage, owner session, counters, decided confirmation), so a
registration can be brought back to any state it once continued as new with, after it was
cancelled, expired or locked. docs/security.md claims this actor cannot start a registration
again, and that the store's rows are keyed by ids that are never reused.

Suggested fix: make a start proof single-use and run-bound. (1) Before the first run does
anything, an activity claims the registration id in PostgreSQL (e.g. `registrations.opened_at`
set once, inside the API's start or the first workflow task, refused when the id has a row
that is closed or already claimed by another run id); fail the run (`unattested`) otherwise.
(2) Make the continue-as-new proof cover the run id that continued (`workflow.info().run_id`)
and check it against the new run's `continued_run_id`, so a carried state is accepted only as
the direct continuation of the run that signed it. (3) Signals and updates: cover the run id
(`first_execution_run_id`) and a per-message nonce the workflow remembers (update id), or accept
that within one run a replay is the same message again and make every handler idempotent.
"""

from __future__ import annotations

import asyncio

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from settings import Settings
from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.security.conftest import activities_run, keyless_client, start_again


async def test_a_cancelled_registration_is_not_started_again_with_its_own_start_proof(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    cancelled = await citizen.call("POST", "/cancel", {"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text

    client = await keyless_client(stack_settings)
    handle = client.get_workflow_handle(citizen.id)
    for _ in range(100):
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED

    # The attacker reads the history (as Temporal allows) and copies the first start's
    # header and (encrypted) input as they are.
    history = await handle.fetch_history()
    first = history.events[0]
    assert first.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    started = first.workflow_execution_started_event_attributes
    assert "gosreg-proof" in started.header.fields

    await start_again(client, stack_settings, citizen.id, started)
    revived = client.get_workflow_handle(citizen.id)
    status: WorkflowExecutionStatus | None = WorkflowExecutionStatus.RUNNING
    try:
        for _ in range(50):
            status = (await revived.describe()).status
            if status is not WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.1)
        history = await revived.fetch_history()
        activities = activities_run(history)
        # Its first activity is the store's check that refuses to reopen a closed registration;
        # nothing after it runs (no code is sent, no audit line written).
        assert status is WorkflowExecutionStatus.FAILED and activities == ["open_registration"], (
            "a registration the citizen cancelled was started again by re-sending its own "
            f"signed first start from history: the new run is {status} and ran "
            f"activities {activities}"
        )
    finally:
        if (await revived.describe()).status is WorkflowExecutionStatus.RUNNING:
            await revived.terminate("test cleanup")
