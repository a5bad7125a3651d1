"""Seventh adversarial pass (HIGH): our worker runs store activities that anyone who can write
to the Temporal namespace schedules, without any proof.

Actor: anyone who can write to the Temporal namespace without our keys (docs/security.md: "an
over-privileged operator, a compromised host on its network"; they "cannot confirm an
identity ... or take any citizen's, clerk's, partner's or support's step").

Impact: proofs (`service/attestation.py`) cover the starts, signals and updates of a
registration, but not the activities our worker executes. A namespace writer runs a worker of
their own for a workflow of their own on a task queue of their own, and that workflow
schedules `confirm_identity` (or `bind_session`, `save_verified_profile`,
`close_registration`, `activate_password`, `open_registration`) on OUR task queue with a
plaintext input naming any registration. Our worker decodes it (the codec lets plaintext
through) and runs it with the store's credentials: the account of a registration that no
clerk, bank, e-signature or letter confirmed becomes `confirmed` in the store that the portal
and other services read, and the registration is closed as confirmed. With `bind_session`
the same writer hands a registration to a session of their choosing; with
`close_registration` they close anyone's registration and revoke its sessions.

Suggested fix: prove activity inputs as well: an activity interceptor on the worker that
takes a store (or any side-effecting) activity only with a proof made by the registration's
own run (`_AttestingContinuation`-like outbound interceptor: HMAC over workflow id, run id,
activity type and arguments), and checks that `activity.info().workflow_type` is
`Registration` and `workflow_id == step.registration_id`; refuse plaintext payloads on the
worker for histories recorded after encryption; give workers a task queue only they may
poll (Temporal authorization).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from registration.journey import Level
from settings import Settings
from simulators.control import SimulatorControl
from store import repository
from tests.citizens import Citizen
from tests.security.conftest import keyless_client


@workflow.defn(name="Adv7ForeignActivity")
class ForeignActivity:
    """The writer's own workflow: schedules one of our activities on our task queue."""

    @workflow.run
    async def run(self, order: dict[str, Any]) -> str:
        try:
            await workflow.execute_activity(
                order["activity"],
                order["step"],
                task_queue=order["queue"],
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except Exception as error:  # the writer only wants the activity to run
            return f"refused: {error!r} / {getattr(error, 'cause', None)!r}"
        return "ran"


async def test_a_namespace_writer_cannot_confirm_an_identity_through_our_activities(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()  # nobody has confirmed the identity
    before = await repository.get_account_for_registration(store_engine, citizen.id)
    assert before is not None and before.level is Level.STANDARD, before

    client = await keyless_client(stack_settings)
    queue = f"writer-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ForeignActivity],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            ForeignActivity.run,
            {
                "activity": "confirm_identity",
                "queue": stack_settings.temporal_task_queue,
                "step": {
                    "registration_id": citizen.id,
                    "method": "in_person",
                    "tax_cabinet_access": True,
                    "audit": {
                        "registration_id": citizen.id,
                        "seq": 100_000,
                        "event": "identity_confirmed",
                        "stage": "confirmed",
                        "actor": "clerk:nobody",
                        "details": {"method": "in_person"},
                    },
                },
            },
            id=f"writer-{uuid.uuid4().hex}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=60),
        )
        try:
            # Whatever our worker does with it happens within seconds. (The writer's workflow
            # then cannot read the activity's encrypted result: that does not matter.)
            after = None
            for _ in range(50):
                after = await repository.get_account_for_registration(store_engine, citizen.id)
                if after is not None and after.level is Level.CONFIRMED:
                    break
                await asyncio.sleep(0.2)
        finally:
            with contextlib.suppress(RPCError):  # ended already: our worker refused it
                await handle.terminate("test cleanup")
    registration = await repository.get_registration(store_engine, citizen.id)
    assert after is not None
    assert after.level is not Level.CONFIRMED, (
        f"a workflow of a namespace writer scheduled confirm_identity on our task queue: the "
        f"account of {citizen.id} is now {after.level} in the store (registration "
        f"{registration.status if registration else None}), with no clerk, bank, e-signature "
        f"or letter"
    )


async def test_a_namespace_writer_cannot_have_a_victims_code_sent_to_their_own_phone(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    """The same hole, aimed at the contact proof. Codes are derived from (registration,
    purpose, sequence) (`registration.codes`), and `send_contact_code` sends code number
    `sequence` of the registration it names to whatever contact it is given, under the message
    key `<registration>:contact-code:<sequence>`, and claims the send under (registration,
    sequence). A namespace writer schedules it for the victim's registration and its NEXT
    sequence, with their own phone as the contact: the victim's next code arrives on the
    attacker's phone. Then:
    - with a gateway that answers a repeated message key with the first message (the usual
      meaning of an idempotency key), the registration's own send of that code later
      "succeeds" without reaching the victim; a start for the victim's phone joins, asks for
      that code and enters it: the attacker owns the registration and the victim is revoked;
    - with a gateway that refuses a repeated key with another recipient (our simulator), the
      registration's own send of its next code fails for good: the victim never gets a new
      code again (a lock-out, for every registration whose id the writer can see or predict).
    """
    victim = Citizen(http, fresh_portal, outbox)
    assert (await victim.start()).status_code == 201  # code 1 goes to the victim's phone
    own_phone = Citizen(http, fresh_portal, outbox).phone  # a phone the attacker holds

    client = await keyless_client(stack_settings)
    queue = f"writer-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ForeignActivity],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            ForeignActivity.run,
            {
                "activity": "send_contact_code",
                "queue": stack_settings.temporal_task_queue,
                "step": {
                    "registration_id": victim.id,
                    "contact": {"channel": "sms", "address": own_phone},
                    "sequence": 2,
                },
            },
            id=f"writer-{uuid.uuid4().hex}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=60),
        )
        try:
            try:
                await outbox.sms_code(own_phone, seconds=15)
            except LookupError:
                return  # nothing reached the attacker's phone: the hole is closed
            received = await outbox.messages(to=own_phone, kind="sms")
        finally:
            with contextlib.suppress(RPCError):  # ended already: our worker refused it
                await handle.terminate("test cleanup")
    keys = [message.idempotency_key for message in received]
    raise AssertionError(
        f"our worker sent code 2 of {victim.id} to a phone that is not its contact, on a "
        f"namespace writer's order (message keys {keys})"
    )
