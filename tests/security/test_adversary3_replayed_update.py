"""Third adversarial pass: a support action's proof, lifted from history, is sent again.

Actor: anyone who can write to the Temporal namespace without our keys or a support token
(an over-privileged operator, a compromised host on its network, or a support member using
the `temporal` CLI instead of the API, which the runbook says they cannot act through).

Impact: the proof over an update (`service/attestation.py`) covers the workflow id, the update
name and the arguments, not the update id nor anything single-use, and every accepted update
keeps its header (the `gosreg-proof`) and ciphertext arguments in history. Copying them into
a new `UpdateWorkflowExecution` with a fresh update id passes `VerifyingWorker`. One support
`resend-letter` becomes as many as the attacker likes: each orders another registered letter
(paid; `resend_letter` ignores the re-order limits because "a person decided"), each makes the
letter code the citizen is waiting for stop working (a denial of letter confirmation for as
long as it is repeated), and the audit trail names the support member for every one. The
same works for `extend-deadline` (a deadline pushed out without bound, `max_deadline_extension`
per copy) and `retry-checks` (the agencies asked again on demand). docs/security.md says
support acts only through the API, audited with the token's client id, and that no step can
be taken through Temporal without our keys.

Suggested fix: bind the proof to the update id (`input.id` at the client, `input.id` in
`HandleUpdateInput` at the worker) and make the API choose it (it does already for idempotency:
`service.registrations.step_update_id`); Temporal deduplicates an update id within a run, so a
copy is either the same update (deduplicated) or fails the proof. For runs continued as new,
keep the ids of handled support/confirmation updates in the carried state (bounded) or bind the
proof to the run id as well. Signals: bind a nonce the workflow remembers, or retire them.
"""

from __future__ import annotations

import uuid

import httpx
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest

from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.security.conftest import audit_lines, keyless_client, support_resends_letter

COPIES = 3


async def test_a_support_resend_letter_is_not_replayed_from_history(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    await citizen.choose_letter()
    await support_resends_letter(http, tokens.support, citizen.id)

    client = await keyless_client(stack_settings)
    history = await client.get_workflow_handle(citizen.id).fetch_history()
    accepted = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    support_request = next(r for r in accepted if r.input.name == "resend_letter")
    assert "gosreg-proof" in support_request.input.header.fields

    outcomes = []
    for _ in range(COPIES):
        answer = await client.workflow_service.update_workflow_execution(
            UpdateWorkflowExecutionRequest(
                namespace=stack_settings.temporal_namespace,
                workflow_execution=WorkflowExecution(workflow_id=citizen.id),
                request=Request(
                    meta=Meta(update_id=str(uuid.uuid4()), identity="temporal-cli"),
                    input=support_request.input,
                ),
                wait_policy=WaitPolicy(
                    lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                ),
            )
        )
        outcomes.append(answer.outcome.WhichOneof("value"))

    resends = await audit_lines(http, tokens.support, citizen.id, "letter_resent", more_than=COPIES)
    assert len(resends) == 1, (
        f"one support resend-letter, copied from history {COPIES} times without any key "
        f"(outcomes {outcomes}), ordered {len(resends)} letters, each in support's name: "
        f"{[line['actor'] for line in resends]}"
    )
