"""Fifth adversarial pass: a retried step under the same Idempotency-Key is applied a second
time once the registration has continued as new.

Actor: any API client that retries as the API tells it to (support's CLI, a partner, the
portal); no attacker is needed, but a dishonest partner or clerk can use it on purpose.

Impact: the API promises that "the same key on a retried request is the same step: it is applied
once and the retry gets the first answer", for 30 days (`api/deps.py`, docs/security.md
"Idempotency keys"). The key row is kept (RETRY), and `Registrations._step_update_id` (as it
was then) maps the key to the update id `name:client:key`, then asks *the current run* whether
that update was handled. After a continue-as-new (10 000 events in production: a long letter
wait, support's work) the new run does not know the id: within `PROOF_TTL` the worker refuses it
as spent (the retry gets `503 unavailable` instead of the first answer), and once the first send
is older than `PROOF_TTL` (the spent set is pruned to 10 minutes) the update is simply applied
again. Here a support `resend-letter` retried after a lost answer orders a second paid
registered letter (the citizen's letter code stops working) and writes a second `letter_resent`
line; the same holds for `extend_deadline` (a deadline pushed out twice), a bank's or clerk's
refused confirmation (counted twice toward the 24 h lock), a citizen's wrong letter code, a
`request_new_code` (another SMS).

Reproduction: `resend_letter(step_id=K)` sent 10 minutes ago (here: proven with a clock 10
minutes back, i.e. the same request as seen by the worker), the registration continues as
new, the same step is retried with the same key: a second `letter_resent`.

Suggested fix: have the API remember the outcome of an applied step with its key (in
`idempotency_keys`, next to the fingerprint) and answer a retry from there; or carry the step
ids (not only the last 10 minutes' update ids) a registration handled into the next run and
answer a known id with its recorded outcome; or make `_step_update_id` look in every run of
the workflow id (list the runs, `get_update_handle(run_id=…)`).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from codec.encryption import data_converter
from service.attestation import PROOF_TTL, AttestingClient, attestation_key
from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.conftest import FAST
from tests.security.conftest import ApiWith, audit_lines, keyless_client


def _registrations(
    dev_server: WorkflowEnvironment, settings: Settings, engine: AsyncEngine, offset: float
) -> Registrations:
    """The API's service, its clock `offset` seconds off (a request sent that long ago)."""
    config = dev_server.client.config()
    config["data_converter"] = data_converter(settings.keyring)
    key = attestation_key(settings.code_secret_bytes)
    config["interceptors"] = [AttestingClient(key, clock=lambda: time.time() + offset)]
    return Registrations(
        Client(**config),
        engine,
        task_queue=settings.temporal_task_queue,
        code_secret=settings.code_secret_bytes,
    )


async def test_a_retried_step_is_not_applied_again_after_a_continue_as_new(
    api_with: ApiWith,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
    dev_server: WorkflowEnvironment,
) -> None:
    policy = FAST.model_copy(update={"max_history_events": 40})
    async with api_with(policy=policy) as http:
        citizen = Citizen(http, fresh_portal, outbox)
        await citizen.reach_identity_stage()
        await citizen.choose_letter()

        # Support's resend-letter under Idempotency-Key K, sent (almost) PROOF_TTL ago.
        step = "cl_support:resend-after-the-call"
        margin = 15.0
        then = _registrations(
            dev_server, stack_settings, store_engine, -(PROOF_TTL.total_seconds() - margin)
        )
        await then.resend_letter(citizen.id, "support:alice", "the letter never came", step_id=step)

        handle = (await keyless_client(stack_settings)).get_workflow_handle(citizen.id)
        await asyncio.sleep(margin + 2)  # now the first send is older than PROOF_TTL
        run = (await handle.describe()).run_id
        for _ in range(60):  # support's ordinary work until the registration continues as new
            if (await handle.describe()).run_id != run:
                break
            extended = await http.post(
                f"/v1/support/registrations/{citizen.id}/extend-deadline",
                json={"reason": "the post is slow", "deadline": "letter_code", "days": 1},
                headers=bearer(tokens.support),
            )
            assert extended.status_code == 200, extended.text
            await asyncio.sleep(0.2)
        assert (await handle.describe()).run_id != run, "no continue-as-new"

        # The CLI retries the same step with the same key (the first answer was lost).
        now = _registrations(dev_server, stack_settings, store_engine, 0)
        await now.resend_letter(citizen.id, "support:alice", "the letter never came", step_id=step)

        lines = await audit_lines(http, tokens.support, citizen.id, "letter_resent", more_than=1)
        resends = len(lines)
    assert resends == 1, (
        f"one support step retried under its Idempotency-Key ordered {resends} letters: the "
        "retry reached a run that had never heard of the key"
    )
