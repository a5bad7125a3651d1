"""Sixth adversarial pass (medium): one forged workflow breaks support's stuck list.

Actor: anyone who can write to the Temporal namespace without our keys.

Impact: `GET /v1/support/stuck` (and `gosreg stuck`, the same `service.support.find_stuck`)
lists running workflows of type `Registration` by their search attributes and turns each
`RegistrationStage` into a `Stage` without a check. Search attributes are set by whoever
starts a workflow, and a start needs no proof to be listed (the run that has none fails only
when a worker picks it up; on a task queue no worker polls, it stays running for good). So a
single workflow started with `RegistrationStage = "x"` and `RegistrationNeedsAttention =
true` makes every support request for the stuck list a 500, and support no longer sees the
registrations that really need a person. (With a valid stage the same start plants fake
"stuck registrations" in support's list.)

Suggested fix: skip (and log) an execution whose attributes do not parse, instead of failing
the whole list; and list only runs that are ours, e.g. restrict the query to the worker's task
queue (`TaskQueue = "registrations"`) and leave out runs the store does not know.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from settings import Settings
from tests.api.conftest import Tokens
from tests.citizens import bearer
from tests.security.conftest import keyless_client
from workflows import search_attributes as search


async def test_a_forged_stage_attribute_does_not_break_the_stuck_list(
    http: httpx.AsyncClient, tokens: Tokens, stack_settings: Settings
) -> None:
    before = await http.get("/v1/support/stuck", headers=bearer(tokens.support))
    assert before.status_code == 200, before.text

    client = await keyless_client(stack_settings)
    forged_id = f"reg-forged-{uuid.uuid4().hex}-1"
    handle = await client.start_workflow(
        "Registration",
        {"anything": True},
        id=forged_id,
        task_queue=f"nobody-{uuid.uuid4().hex}",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search.STAGE, "not-a-stage"),
                SearchAttributePair(search.STAGE_SINCE, datetime(2020, 1, 1, tzinfo=UTC)),
                SearchAttributePair(search.NEEDS_ATTENTION, True),
            ]
        ),
    )
    try:
        query = f'WorkflowId = "{forged_id}"'
        for _ in range(100):  # visibility is eventually consistent
            if [execution async for execution in client.list_workflows(query)]:
                break
            await asyncio.sleep(0.1)
        after = await http.get("/v1/support/stuck", headers=bearer(tokens.support))
        assert after.status_code == 200, (
            f"one workflow started by an outsider with a forged stage attribute turns support's "
            f"stuck list into {after.status_code}: {after.text[:200]}"
        )
        assert forged_id not in after.text
    finally:
        await handle.terminate("test cleanup")
