"""Fifth adversarial pass: a copied update delivered in the *first* workflow task of the next run
is taken, because the run loads its handed-on spent ids only after the update is validated.

Actor: anyone who can write to the Temporal namespace without our keys or a support token (the
fourth pass's actor).

Impact: the fourth pass's fix hands the ids of the updates a run handled to its next run in the
continue-as-new header `gosreg-spent-updates`, and `VerifyingWorker` loads them into `_handled`
in `execute_workflow`. But the Python SDK applies an activation's signal and update jobs before
its `initialize_workflow` job, and runs the update's task (validator included) before the
workflow's main task (`_WorkflowInstanceImpl.activate`: job sets "patches, then signals +
updates, then non-queries"). So when the new run's first workflow task carries an update, the
validator sees an empty `_handled`, and an update copied from the previous run's history
(same update id, same proof headers, still inside `PROOF_TTL`) passes the proof and is applied
again: here support's `resend_letter`, i.e. another paid registered letter, the letter code the
citizen waits for stops working, a second `letter_resent` line in support's name. The same holds
for `extend_deadline`, `retry_checks`, a refused clerk's or bank's confirmation (toward the
24 h lock), a wrong letter code.

The new run's first task carries such an update whenever it is not picked up at once: a worker
restart or deploy at the moment of the continue-as-new, a backlog on the task queue (which the
same actor can create by signalling many registrations: every unproven signal still costs a
workflow task), or a failed first task. The actor also chooses the moment of the
continue-as-new: every unproven signal is written to history (then dropped), so history reaches
`max_history_events` when they want.

Reproduction (deterministic here): the registration runs on a worker of its own, which stops
right after the continue-as-new (a restart); the copy is sent; the production worker
(`VerifyingWorker`) is started and takes the new run's first task with the copy in it.

Suggested fix: refuse in the validator any update whose id is in the start's
`gosreg-spent-updates` header even before `execute_workflow` ran: read it from
`workflow.info().headers` in `init`/the validator (refusing more needs no proof), or refuse
every update until the run's input has been verified (a flag set in `execute_workflow`; the API
retries), or verify the whole start header in `init`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ContinueAsNewInput,
    Interceptor,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities import build_activities
from codec.encryption import data_converter
from service.attestation import AttestingClient, VerifyingWorker, attestation_key
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.conftest import FAST
from tests.security.conftest import (
    ApiWith,
    accepted_update,
    audit_lines,
    keyless_client,
    support_resends_letter,
)
from workflows import WORKFLOWS


class _RestartAtContinueAsNew(Interceptor):
    """Test only, on the worker that runs the old run: when `armed`, tell the test that the
    registration continues as new (so that it stops this worker: a restart at that moment)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.armed = False
        self.continued = asyncio.Event()

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        hook = self

        class Outbound(WorkflowOutboundInterceptor):
            def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
                if hook.armed:
                    hook.loop.call_soon_threadsafe(hook.continued.set)
                    time.sleep(0.5)  # the restart begins before this task completes
                super().continue_as_new(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound


def _worker(
    dev_server: WorkflowEnvironment,
    settings: Settings,
    activities: Any,
    interceptors: list[Interceptor],
) -> Worker:
    config = dev_server.client.config()
    config["data_converter"] = data_converter(settings.keyring, worker=True)
    config["interceptors"] = [AttestingClient(attestation_key(settings.code_secret_bytes))]
    return Worker(
        Client(**config),
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        interceptors=interceptors,
        max_cached_workflows=0,
    )


async def test_a_copied_update_in_the_next_run_s_first_task_is_refused(
    api_with: ApiWith,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
    dev_server: WorkflowEnvironment,
) -> None:
    queue = f"adv5-{uuid.uuid4()}"
    settings = stack_settings.model_copy(update={"temporal_task_queue": queue})
    key = attestation_key(settings.code_secret_bytes)
    hook = _RestartAtContinueAsNew(asyncio.get_running_loop())
    # Short histories stand for production's 10 000 events.
    # (Long enough that the run with the resend is still the one the noise makes continue.)
    policy = FAST.model_copy(update={"max_history_events": 60})

    async with (
        build_activities(settings, store_engine) as activities,
        api_with(policy=policy, temporal_task_queue=queue) as http,
    ):
        old_worker = _worker(dev_server, settings, activities, [hook, VerifyingWorker(key)])
        worker_run = asyncio.create_task(old_worker.run())
        try:
            citizen = Citizen(http, fresh_portal, outbox)
            await citizen.reach_identity_stage()
            await citizen.choose_letter()
            await support_resends_letter(http, tokens.support, citizen.id)

            # What the attacker lifts from history: the accepted request, headers and all.
            attacker = await keyless_client(settings)
            handle = attacker.get_workflow_handle(citizen.id)
            # (The run that accepted it: the registration may have continued as new since.)
            run_with_resend, copy = await accepted_update(attacker, citizen.id, "resend_letter")

            # The attacker grows history with signals (each is written, then dropped) until the
            # registration continues as new; the worker restarts at that moment.
            hook.armed = True
            for sent in range(200):
                if hook.continued.is_set():
                    break
                await handle.signal("bank_confirmation", {"noise": "x"})
                if sent % 20 == 19:
                    # A signal it cannot read is dropped without waking the run: the citizen's
                    # next step (a mistyped letter code) is what finds history long.
                    await citizen.call("POST", "/letter-code", {"code": "0000000000"})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hook.continued.wait(), 0.5)
            await asyncio.wait_for(hook.continued.wait(), 30)
        finally:
            await old_worker.shutdown()
            await asyncio.wait_for(worker_run, 30)

        new_run = (await handle.describe()).run_id
        assert new_run != run_with_resend, "no continue-as-new"
        first = await attacker.get_workflow_handle(citizen.id, run_id=new_run).fetch_history()
        assert not any(
            event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            for event in first.events
        ), "the restart came too late: the new run's first task was taken already"

        # While the new run's first task waits for a worker, the copy is sent again.
        replay = asyncio.create_task(
            attacker.workflow_service.update_workflow_execution(
                UpdateWorkflowExecutionRequest(
                    namespace=settings.temporal_namespace,
                    workflow_execution=WorkflowExecution(workflow_id=citizen.id),
                    request=Request(
                        meta=Meta(update_id=copy.meta.update_id, identity="temporal-cli"),
                        input=copy.input,
                    ),
                    wait_policy=WaitPolicy(
                        lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                    ),
                )
            )
        )
        await asyncio.sleep(1.0)

        # The production worker comes back and takes the task.
        async with _worker(dev_server, settings, activities, [VerifyingWorker(key)]):
            outcome = "?"
            try:
                answer = await asyncio.wait_for(replay, 30)
                outcome = str(answer.outcome.WhichOneof("value"))
            except Exception as error:  # a refusal may surface as an RPC error
                outcome = f"refused ({type(error).__name__})"
            lines = await audit_lines(
                http, tokens.support, citizen.id, "letter_resent", more_than=1
            )
            resends = len(lines)

    assert resends == 1, (
        "support's resend-letter, copied from an earlier run's history and delivered in the "
        f"next run's first workflow task (outcome {outcome}), was applied again: {resends} "
        "letters ordered in support's name"
    )
