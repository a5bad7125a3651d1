"""Seventh adversarial pass (medium): one forged workflow breaks `gosreg check`.

Actor: anyone who can write to the Temporal namespace without our keys.

Impact: the sixth pass made the stuck list skip a run whose `RegistrationStage` it does not
know; the consistency check (`ops.consistency`, `gosreg check`, and `--close-orphans`, which
support runs to free contacts whose registration ended abnormally) still turns every listed
`Registration` run's attributes into a `Stage`/`Level` without a check (`_view`). One run
started with `RegistrationStage = "x"` (no proof, no keys needed; on a queue nobody polls it
stays listed for good) makes every check fail with a `ValueError`, for the whole namespace:
support sees no mismatch and can close no orphan, so contacts stay locked out ("the previous
registration ended abnormally") until someone finds and terminates the forged run by hand.

Suggested fix: as in `service.support.find_stuck`, skip and log an execution whose attributes
do not parse (or report it as a finding of its own), and list only runs on our task queue.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from ops.consistency import check
from settings import Settings
from tests.security.conftest import keyless_client
from workflows import search_attributes as search


async def test_a_forged_stage_attribute_does_not_break_the_consistency_check(
    stack_settings: Settings, store_engine: AsyncEngine
) -> None:
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
            ]
        ),
    )
    try:
        query = f'WorkflowId = "{forged_id}"'
        for _ in range(100):  # visibility is eventually consistent
            if [execution async for execution in client.list_workflows(query)]:
                break
            await asyncio.sleep(0.1)
        try:
            report = await check(client, store_engine)
        except ValueError as error:
            raise AssertionError(
                f"one workflow started by an outsider with a forged stage attribute makes "
                f"`gosreg check` (and --close-orphans) fail for everyone: {error!r}"
            ) from error
        assert report.registrations > 0
    finally:
        await handle.terminate("test cleanup")
