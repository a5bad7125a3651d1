"""Fifth adversarial pass: the untimed proof every update still carries is a valid *timed* proof
of another update id, so a copy from history can be sent again with a send time of someone's
choosing.

Actor: someone who can write to the Temporal namespace without our keys, together with (or
being) an API client that picks its own Idempotency-Keys: a dishonest support member, clerk or
partner (who may plant a step to be repeated after their token is revoked or has expired), or
any client whose keys happen to end in `@<unix seconds>`.

Impact: `AttestingClient` sends two proofs with each update: `gosreg-proof`, the untimed one
over `"<update>#<update id>"` (for workers from before timed proofs), and `gosreg-proof-timed`,
`<T>:` the proof over `"<update>#<update id>@<T>"`. Both are HMACs with the same key over the
same layout, and nothing keeps an update id from containing `@`. The API makes an update id
from the caller's key (`<update>:<client>:<Idempotency-Key>`), and the key may be any text. So
for a key `k@T`, the untimed proof of update id `…:k@T` *is* the timed proof of update id `…:k`
sent at `T`. Whoever can read history copies the request, sends it under the id `…:k` (new to
the run, in no spent set) with the header `gosreg-proof-timed: T:<the untimed proof>`, and the
worker takes it whenever `T` is within its window, in this run or any later one (the actor can
force a continue-as-new with unproven signals, and so repeat it once per run). Here: support's
resend-letter is applied twice (a second paid letter; the letter code the citizen waits for
stops working); the same goes for a refused bank or clerk confirmation (5 of them lock
confirmation for 24 h), `extend_deadline`, a citizen's request for a new code.

Reproduction: `POST /v1/support/registrations/{id}/resend-letter` with `Idempotency-Key:
plant@<now+30>`; copy the accepted request from history; send it with update id without the
`@<T>` suffix and `gosreg-proof-timed: <T>:<gosreg-proof>`: `success`, two `letter_resent`.

Suggested fix: separate the two proofs' domains (a distinct prefix or a key derived for timed
proofs, e.g. `"timed\\x1f…"`), or put the send time in its own field of the proven string that
cannot be confused with the id; stop sending the untimed proof once every worker checks timed
ones; refuse update ids (and Idempotency-Keys) with characters the proof uses as separators
(`#`, `@`, `|`, `\\x1f`).
"""

from __future__ import annotations

import time

from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest

from service.attestation import HEADER, TIMED_HEADER
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.security.conftest import ApiWith, audit_lines, keyless_client


async def test_an_untimed_proof_is_no_timed_proof_of_another_update_id(
    api_with: ApiWith,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    async with api_with() as http:
        citizen = Citizen(http, fresh_portal, outbox)
        await citizen.reach_identity_stage()
        await citizen.choose_letter()

        moment = int(time.time()) + 30
        resent = await http.post(
            f"/v1/support/registrations/{citizen.id}/resend-letter",
            json={"reason": "the citizen called: the letter never came"},
            headers={**bearer(tokens.support), "Idempotency-Key": f"plant@{moment}"},
        )
        assert resent.status_code == 200, resent.text

        attacker = await keyless_client(stack_settings)
        history = await attacker.get_workflow_handle(citizen.id).fetch_history()
        accepted = [
            event.workflow_execution_update_accepted_event_attributes.accepted_request
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        copy = next(request for request in accepted if request.input.name == "resend_letter")
        update_id = copy.meta.update_id
        assert update_id.endswith(f"@{moment}"), update_id
        untimed = copy.input.header.fields[HEADER].data

        forged = Request()
        forged.CopyFrom(copy)
        forged.meta.CopyFrom(
            Meta(update_id=update_id.removesuffix(f"@{moment}"), identity="temporal-cli")
        )
        forged.input.header.fields[TIMED_HEADER].CopyFrom(
            Payload(metadata={"encoding": b"binary/plain"}, data=f"{moment}:".encode() + untimed)
        )
        answer = await attacker.workflow_service.update_workflow_execution(
            UpdateWorkflowExecutionRequest(
                namespace=stack_settings.temporal_namespace,
                workflow_execution=WorkflowExecution(workflow_id=citizen.id),
                request=forged,
                wait_policy=WaitPolicy(
                    lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                ),
            )
        )
        outcome = answer.outcome.WhichOneof("value")

        lines = await audit_lines(http, tokens.support, citizen.id, "letter_resent", more_than=1)
        resends = len(lines)
    assert resends == 1, (
        "the untimed proof of a copied update passed as the timed proof of another update id "
        f"(outcome {outcome}): {resends} letters ordered in support's name"
    )
