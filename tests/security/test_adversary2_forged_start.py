"""Second adversarial pass: a workflow *start* is not attested, and its input carries the whole
state of a registration.

Actor: anyone who can write to the Temporal namespace without our keys (an over-privileged
operator, a compromised host on Temporal's network, a support member with the `temporal` CLI).
docs/security.md grants this actor "terminate or cancel workflows, as Temporal allows" and
promises they cannot "confirm an identity ... or take any citizen's, clerk's, partner's or
support's step".

How: `AttestingClient`/`VerifyingWorker` prove signals and updates only. The start input
(`RegistrationInput`) is not proven, and the codec lets plaintext payloads through. Its
`carried` field is the state continue-as-new hands to the next run, taken as is by
`RegistrationWorkflow.__init__` (`RegistrationState.model_validate(input.carried)`). So the
actor terminates a registration waiting at the identity stage (or picks one whose workflow has
ended: the default id-reuse policy of the CLI allows a new run) and starts the same workflow id
again, in plain JSON, with `carried = {stage: identity_confirmation, confirmation: {method:
in_person, actor: clerk:<anyone>}, audit_seq: <high>}`. The new run goes straight to
`StoreActivities.confirm_identity`.

Impact (high): the account becomes `confirmed` (in person, with tax-cabinet access) without any
clerk, bank or e-signature; the audit trail names a clerk who does not exist. Equally, any
other state can be forged (owner session, profile, letter code hash, lock counters).

Suggested fix: attest the start too. `AttestingClient.start_workflow` adds a proof over the
workflow id and the input; the worker's `execute_workflow` interceptor refuses (fails the run
before any activity) an input without a valid proof. Continue-as-new is issued by the worker
itself: its outbound interceptor (`continue_as_new`) adds the proof over the carried state, or
the carried state is HMAC-signed inside the input. Also: refuse plaintext payloads on workflow
inputs once no pre-encryption history remains.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus

from settings import Settings
from simulators.control import SimulatorControl
from store import repository
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.security.conftest import keyless_client


def forged_input(registration_id: str, phone: str) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "registration_id": registration_id,
        "person": {"surname": "Иванова", "name": "Мария"},
        "contact": {"channel": "sms", "address": phone},
        "carried": {
            "stage": "identity_confirmation",
            "level": "standard",
            "started_at": now,
            "stage_entered_at": now,
            "audit_seq": 10_000,
            "confirmation": {
                "method": "in_person",
                "actor": "clerk:cl_forged",
                "details": {"service_center_id": "mfc-forged"},
            },
        },
    }


async def test_a_keyless_start_with_a_carried_state_does_not_confirm_an_identity(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()

    client = await keyless_client(stack_settings)
    handle = client.get_workflow_handle(citizen.id)
    await handle.terminate("an operator's terminate, as Temporal allows")
    forged = await client.start_workflow(
        "Registration",
        forged_input(citizen.id, citizen.phone),
        id=citizen.id,
        task_queue=stack_settings.temporal_task_queue,
    )
    # The new run's result is encrypted, so this client cannot read it: wait for it to end.
    for _ in range(100):
        if (await forged.describe()).status is not WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.1)

    account = await repository.get_account_for_registration(store_engine, citizen.id)
    assert account is not None
    trail = await http.get(
        f"/v1/support/registrations/{citizen.id}/audit", headers=bearer(tokens.support)
    )
    actors = {line["actor"] for line in trail.json()["lines"]}
    assert account.level != "confirmed" and "clerk:cl_forged" not in actors, (
        "a keyless, token-less start with a forged `carried` state confirmed the identity: "
        f"level {account.level}, confirmed by {account.confirmation_method}, "
        f"audit actors {sorted(actors)}"
    )
