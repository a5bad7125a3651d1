"""A step refused as "not applied, try again" is tried again under the same Idempotency-Key;
any other outcome is final for that key (Temporal answers a retry with it)."""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from registration.errors import Refusal, StepRefused
from registration.journey import Stage
from registration.messages import StepDone, SupportAction
from service.registrations import Registrations
from workflows.refusals import refuse

UNSANDBOXED = UnsandboxedWorkflowRunner()  # a test's own workflow, defined in the test module


@workflow.defn(name="FlakyStep")
class FlakyStep:
    """Refuses its first `failures` `retry_checks` as unavailable, then applies them."""

    @workflow.init
    def __init__(self, failures: int) -> None:
        self.calls, self.failures = 0, failures

    @workflow.run
    async def run(self, failures: int) -> int:
        await workflow.wait_condition(lambda: False)
        return self.calls

    @workflow.update(name="retry_checks")
    def retry_checks(self, action: SupportAction) -> StepDone:
        self.calls += 1
        if self.calls <= self.failures:
            refuse(Refusal.UNAVAILABLE, "The agency did not answer: try again")
        return StepDone(stage=Stage.VERIFICATION, level="simplified")

    @workflow.query(name="calls")
    def count(self) -> int:
        return self.calls


async def test_a_step_refused_as_unavailable_is_retried_under_the_same_key(
    dev_server: WorkflowEnvironment, registrations: Registrations
) -> None:
    queue, wid = f"flaky-{uuid.uuid4()}", f"flaky-{uuid.uuid4()}"
    async with Worker(
        dev_server.client, task_queue=queue, workflows=[FlakyStep], workflow_runner=UNSANDBOXED
    ):
        handle = await dev_server.client.start_workflow(FlakyStep.run, 2, id=wid, task_queue=queue)
        for _ in range(2):
            with pytest.raises(StepRefused) as refused:
                await registrations.retry_checks(wid, "support:x", "r", step_id="key-1")
            assert refused.value.code is Refusal.UNAVAILABLE
        done = await registrations.retry_checks(wid, "support:x", "r", step_id="key-1")
        again = await registrations.retry_checks(wid, "support:x", "r", step_id="key-1")
        assert done == again == StepDone(stage=Stage.VERIFICATION, level="simplified")
        assert await handle.query("calls") == 3, "applied once, after two refusals"
        await handle.terminate()


async def test_a_final_refusal_is_kept_for_its_key(
    dev_server: WorkflowEnvironment, registrations: Registrations
) -> None:
    queue, wid = f"flaky-{uuid.uuid4()}", f"flaky-{uuid.uuid4()}"
    async with Worker(
        dev_server.client, task_queue=queue, workflows=[FlakyStep], workflow_runner=UNSANDBOXED
    ):
        handle = await dev_server.client.start_workflow(FlakyStep.run, 0, id=wid, task_queue=queue)
        first = await registrations.retry_checks(wid, "support:x", "r", step_id="key-2")
        second = await registrations.retry_checks(wid, "support:x", "r", step_id="key-2")
        assert first == second
        assert await handle.query("calls") == 1
        await handle.terminate()
