"""Third adversarial pass: a carried state, lifted from history, brings a cancelled
registration back at the identity stage, owned by the session that proved it.

Actor: anyone who can write to the Temporal namespace without our keys (docs/security.md's
last actor row), possibly together with whoever held the registration's session (a fraudster
who proved a victim's contact once, e.g. by SIM swap, and whose registration support then
cancelled).

Impact: a continue-as-new hands the whole state (stage, level, owner session, profile,
refusal counters) to the next run, proved by `_AttestingContinuation`. That proof binds the
workflow id, the type and the arguments only, so the next run's start event (header + input
ciphertext) is a valid, reusable "start at this state" for this id. After the registration is
cancelled (closed in the store), re-sending that start with `ALLOW_DUPLICATE` revives it at
the identity stage with its old owner session, which the API still accepts: the session enters
the letter code ordered before the cancel and the identity is confirmed, although
the store and the audit trail say it was cancelled. docs/security.md: "a terminated
registration cannot be restarted with a forged state, a confirmed identity for one".

Suggested fix: bind the continue-as-new proof to the run that made it (cover
`workflow.info().run_id` and check it against the new run's `continued_run_id`; refuse a
carried state in a run that has none), and have the first workflow task of any run check in
PostgreSQL that the registration is open (a closed id is never run again; also revoke a
registration's sessions when it closes, `close_registration`).
"""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowExecutionStatus

from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.conftest import FAST
from tests.security.conftest import ApiWith, keyless_client, start_again


async def test_a_cancelled_registration_is_not_revived_from_a_carried_state(
    api_with: ApiWith,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    tokens: Tokens,
) -> None:
    # Short histories so that this registration continues as new before the identity stage
    # (production does the same after 10 000 events, e.g. a long letter wait).
    policy = FAST.model_copy(update={"max_history_events": 25})
    async with api_with(policy=policy) as http:
        citizen = Citizen(http, fresh_portal, outbox)
        await citizen.reach_identity_stage()
        chosen = await citizen.choose_letter()
        letter_code = await outbox.letter_code(chosen["letter"]["tracking_number"])

        client = await keyless_client(stack_settings)
        handle = client.get_workflow_handle(citizen.id)
        # Support's ordinary work grows the history until the registration continues as new
        # at the identity stage (production: after 10 000 events, e.g. a long letter wait).
        run_at_identity = (await handle.describe()).run_id
        for _ in range(20):
            if (await handle.describe()).run_id != run_at_identity:
                break
            extended = await http.post(
                f"/v1/support/registrations/{citizen.id}/extend-deadline",
                json={"reason": "the post is slow", "deadline": "letter_code", "days": 1},
                headers=bearer(tokens.support),
            )
            assert extended.status_code == 200, extended.text
            await asyncio.sleep(0.2)
        first = (await handle.fetch_history()).events[0]
        started = first.workflow_execution_started_event_attributes
        assert started.continued_execution_run_id == run_at_identity, "no continue-as-new"
        assert "gosreg-proof" in started.header.fields

        cancelled = await citizen.call("POST", "/cancel", {"reason": "support: suspected fraud"})
        assert cancelled.status_code == 200, cancelled.text
        for _ in range(100):
            if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.1)
        # Closing a registration revokes its sessions: the old session takes no step again.
        closed = await citizen.call("GET", "")
        assert (closed.status_code, closed.json()["code"]) == (403, "session_revoked")

        # Without any key: the newest run's own start (carried state + proof), sent again.
        await start_again(client, stack_settings, citizen.id, started)
        revived = client.get_workflow_handle(citizen.id)
        try:
            status: WorkflowExecutionStatus | None = WorkflowExecutionStatus.RUNNING
            for _ in range(50):
                status = (await revived.describe()).status
                if status is not WorkflowExecutionStatus.RUNNING:
                    break
                await asyncio.sleep(0.1)
            verdict = await citizen.call("POST", "/letter-code", {"code": letter_code})
            assert status is WorkflowExecutionStatus.FAILED, (
                "a cancelled registration, started again from the carried state its own "
                f"continue-as-new proved, runs again ({status}); its old session's letter code "
                f"got {verdict.status_code} {verdict.text[:120]}"
            )
            assert verdict.status_code == 403, verdict.text
        finally:
            if (await revived.describe()).status is WorkflowExecutionStatus.RUNNING:
                await revived.terminate("test cleanup")
