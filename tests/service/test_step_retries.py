"""A step refused as "not applied, try again" is tried again under the same Idempotency-Key;
any other outcome is final for that key (Temporal answers a retry with it). The store counts
the refused attempts (`step_outcomes`), which names the next attempt's update id: no question
to Temporal before a step."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from registration.errors import Refusal, StepRefused
from registration.journey import Stage
from registration.messages import StepDone, SupportAction
from service.registrations import MAX_STEP_ATTEMPTS, Registrations, step_update_id
from store.idempotency import StepOutcome
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


async def test_a_refusal_the_store_did_not_count_is_answered_again_and_then_counted(
    dev_server: WorkflowEnvironment, registrations: Registrations, store_engine: AsyncEngine
) -> None:
    queue, wid = f"flaky-{uuid.uuid4()}", f"flaky-{uuid.uuid4()}"
    async with Worker(
        dev_server.client, task_queue=queue, workflows=[FlakyStep], workflow_runner=UNSANDBOXED
    ):
        handle = await dev_server.client.start_workflow(FlakyStep.run, 1, id=wid, task_queue=queue)
        with pytest.raises(StepRefused):
            await registrations.retry_checks(wid, "support:x", "r", step_id="key-3")
        # The API lost the count (its database went away after Temporal's answer) …
        async with store_engine.begin() as connection:
            await connection.execute(delete(StepOutcome).where(StepOutcome.registration_id == wid))
        # … so the retry repeats attempt 0: Temporal answers it with its refusal, not again.
        with pytest.raises(StepRefused) as refused:
            await registrations.retry_checks(wid, "support:x", "r", step_id="key-3")
        assert refused.value.code is Refusal.UNAVAILABLE
        assert await handle.query("calls") == 1, "the repeated attempt was not applied again"
        done = await registrations.retry_checks(wid, "support:x", "r", step_id="key-3")
        assert done == StepDone(stage=Stage.VERIFICATION, level="simplified")
        assert await handle.query("calls") == 2
        await handle.terminate()


def test_a_key_refused_too_often_must_be_replaced() -> None:
    assert step_update_id(None, 0) is None
    assert step_update_id("retry_checks:c:k", 0) == "retry_checks:c:k"
    assert step_update_id("retry_checks:c:k", 2) == "retry_checks:c:k:2"
    with pytest.raises(StepRefused, match="with a new key") as refused:
        step_update_id("retry_checks:c:k", MAX_STEP_ATTEMPTS)
    assert refused.value.code is Refusal.UNAVAILABLE
