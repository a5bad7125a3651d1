"""Fourth adversarial pass: a support update's proof, lifted from history, is sent again to
the registration's *next* run.

Actor: anyone who can write to the Temporal namespace without our keys or a support token
(an over-privileged operator, a compromised host on its network).

Impact: the third pass bound an update's proof to its update id, "which Temporal applies once
per run" (service/attestation.py). But the proof names neither the run nor anything the
workflow remembers, and a registration continues as new (after `Policy.max_history_events`,
10 000 in production; a months-long letter wait or support's work gets there). In the new run
the old update id is unknown, so the support `resend_letter` request copied from the previous
run's history (same update id, same `gosreg-proof` header, same ciphertext) passes the proof
again: another paid registered letter is ordered, the letter code the citizen is waiting for
stops working, and the audit trail names the support member once more. The same holds for
every update of an earlier run: `extend_deadline` (a deadline pushed out per copy),
`retry_checks`, a clerk's or bank's refused confirmation (5 lock confirmation for 24 h and
flag the registration), wrong letter codes (lock letter entry). docs/security.md says "A proof
is good for one message only".

Reproduction: support resend-letter; the registration continues as new; send the accepted
request from the old run's history with its own update id to the workflow id: `success`, a
second `letter_resent` line.

Suggested fix: carry the ids of the updates handled (at least the privileged ones: support,
clerk, bank, e-signature, letter code) in the carried state, bounded by time (the API reuses
an id only within the idempotency TTL), and refuse in the validator an update whose id is
there; or let the API put its send time into the proven name and refuse proofs older than a
few minutes (a copy from history is old); or name the run in the proof and have the API
target the current run id (it can describe the workflow first).
"""

from __future__ import annotations

import asyncio

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest

from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.conftest import FAST
from tests.security.conftest import (
    ApiWith,
    accepted_update,
    audit_lines,
    keyless_client,
    support_resends_letter,
)


async def test_a_support_resend_letter_is_not_replayed_on_the_next_run(
    api_with: ApiWith,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    # Short histories stand in for production's 10 000 events; long enough that the resend
    # and the run id read after it are in one run.
    policy = FAST.model_copy(update={"max_history_events": 40})
    async with api_with(policy=policy) as http:
        citizen = Citizen(http, fresh_portal, outbox)
        await citizen.reach_identity_stage()
        await citizen.choose_letter()
        await support_resends_letter(http, tokens.support, citizen.id)

        client = await keyless_client(stack_settings)
        handle = client.get_workflow_handle(citizen.id)
        run_with_resend, support_request = await accepted_update(
            client, citizen.id, "resend_letter"
        )

        # Support's ordinary work grows the history until the registration continues as new
        # (production: after 10 000 events, e.g. a long letter wait).
        for _ in range(40):
            if (await handle.describe()).run_id != run_with_resend:
                break
            extended = await http.post(
                f"/v1/support/registrations/{citizen.id}/extend-deadline",
                json={"reason": "the post is slow", "deadline": "letter_code", "days": 1},
                headers=bearer(tokens.support),
            )
            assert extended.status_code == 200, extended.text
            await asyncio.sleep(0.2)
        assert (await handle.describe()).run_id != run_with_resend, "no continue-as-new"

        answer = await client.workflow_service.update_workflow_execution(
            UpdateWorkflowExecutionRequest(
                namespace=stack_settings.temporal_namespace,
                workflow_execution=WorkflowExecution(workflow_id=citizen.id),
                request=Request(
                    meta=Meta(update_id=support_request.meta.update_id, identity="temporal-cli"),
                    input=support_request.input,
                ),
                wait_policy=WaitPolicy(
                    lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                ),
            )
        )
        outcome = answer.outcome.WhichOneof("value")

        resends = await audit_lines(http, tokens.support, citizen.id, "letter_resent", more_than=1)
        assert len(resends) == 1, (
            "one support resend-letter, copied from the previous run's history into the next "
            f"(outcome {outcome}), ordered {len(resends)} letters, each in support's name"
        )
