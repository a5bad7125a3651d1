"""When the contact's code budget across registrations is spent (`store.sends`), the
registration says so: a request for a new code is refused with the moment one is allowed, and a
first code held back leaves the registration waiting for the citizen to ask again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from registration import errors
from registration.activity_messages import SendContactCode, SentCode
from registration.errors import Refusal
from registration.journey import Stage
from registration.messages import RequestNewCode
from store.sends import SendLimit
from tests.workflows.test_registration import start
from tests.workflows.world import World
from workflows import RegistrationWorkflow

RETRY_AT = datetime(2030, 1, 2, 3, 4, 5, 250_000, tzinfo=UTC)


class BudgetWorld(World):
    """The stand-in world, whose store refuses codes while `budget_spent`."""

    budget_spent = False

    @activity.defn(name="send_contact_code")
    async def send_contact_code(self, request: SendContactCode) -> SentCode:
        if self.budget_spent:
            self.calls["send_contact_code_refused"] += 1
            raise ApplicationError(
                "Contact code not sent",
                {"retry_at": RETRY_AT.isoformat(), "limit": SendLimit.CONTACT_PER_DAY.value},
                type=errors.CONTACT_SEND_LIMIT,
                non_retryable=True,
            )
        return await super().send_contact_code(request)


@pytest.fixture
def world() -> BudgetWorld:
    return BudgetWorld()


async def test_a_first_code_held_back_leaves_the_registration_waiting_for_a_request(
    env: WorkflowEnvironment, world: BudgetWorld, task_queue: str
) -> None:
    world.budget_spent = True
    journey = await start(env, world, task_queue)
    for _ in range(100):
        if world.calls["send_contact_code_refused"]:
            break
        await asyncio.sleep(0.05)
    view = await journey.state()
    assert view.stage is Stage.CONTACT and view.code_expires_at is None
    assert "no code has gone out: sending the first failed at" in view.summary
    assert world.calls["send_contact_code_refused"] == 1, "a refusal is not retried"

    refusal = await journey.refused(RegistrationWorkflow.request_new_code, RequestNewCode())
    assert refusal.type == Refusal.RESEND_LIMIT
    assert "2030-01-02 03:04:06 UTC" in str(refusal)
    assert refusal.details[0]["details"] == {"retry_at": "2030-01-02T03:04:06+00:00"}

    world.budget_spent = False
    sent = await journey.update(RegistrationWorkflow.request_new_code, RequestNewCode())
    assert sent.code_expires_at is not None
    assert (await journey.confirm_contact()).accepted, "the first code sent is code 1"


async def test_a_new_code_over_the_contacts_budget_is_refused_and_the_old_one_still_works(
    env: WorkflowEnvironment, world: BudgetWorld, task_queue: str
) -> None:
    journey = await start(env, world, task_queue)
    await journey.code_sent()
    await env.sleep(timedelta(seconds=61))  # past the registration's own cooldown
    world.budget_spent = True

    refusal = await journey.refused(RegistrationWorkflow.request_new_code, RequestNewCode())

    assert refusal.type == Refusal.RESEND_LIMIT
    assert refusal.details[0]["details"]["retry_at"] == "2030-01-02T03:04:06+00:00"
    assert (await journey.confirm_contact()).accepted
