"""The benchmark's portal (`benchmarks.portal`): the load generator learns stage changes from
signed webhooks, so it must refuse what gosreg did not sign and apply each event once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest

from benchmarks.portal import DeadEnd, PortalReceiver, serving
from ops.stack import free_port
from registration import webhooks
from registration.activity_messages import PortalEvent
from registration.journey import Level, Stage


def delivery(
    secret: str, number: int, stage: Stage, rid: str = "reg-1"
) -> tuple[dict[str, str], bytes]:
    event = PortalEvent(
        id=f"{rid}/{number}",
        occurred_at=datetime.now(UTC),
        registration_id=rid,
        stage=stage,
        level=Level.SIMPLIFIED,
    )
    content = webhooks.body(event)
    key = webhooks.secret_key(secret)
    return webhooks.headers(key, event.id, int(time.time()), content), content


async def test_a_waiting_citizen_hears_its_stage_once_and_forgeries_are_refused() -> None:
    secret = webhooks.new_secret()
    receiver = PortalReceiver(secret)
    async with serving(receiver, free_port()) as url, httpx.AsyncClient() as http:
        waiting = asyncio.create_task(receiver.reached("reg-1", Stage.IDENTITY))
        headers, content = delivery(secret, 1, Stage.VERIFICATION)
        assert (await http.post(url, headers=headers, content=content)).status_code == 204
        forged_headers, forged = delivery(webhooks.new_secret(), 2, Stage.IDENTITY)
        assert (await http.post(url, headers=forged_headers, content=forged)).status_code == 401
        await asyncio.sleep(0.05)
        assert not waiting.done()  # neither the earlier stage nor a forgery ends the wait

        headers, content = delivery(secret, 2, Stage.IDENTITY)
        for _ in range(2):  # a retried delivery
            assert (await http.post(url, headers=headers, content=content)).status_code == 204
        await asyncio.wait_for(waiting, 5)

    assert (receiver.deliveries.applied, receiver.deliveries.repeated) == (2, 1)
    assert receiver.deliveries.refused == 1


async def test_a_registration_that_ended_elsewhere_fails_the_wait_at_once() -> None:
    secret = webhooks.new_secret()
    receiver = PortalReceiver(secret)
    async with serving(receiver, free_port()) as url, httpx.AsyncClient() as http:
        headers, content = delivery(secret, 5, Stage.EXPIRED)
        assert (await http.post(url, headers=headers, content=content)).status_code == 204
        with pytest.raises(DeadEnd):
            await asyncio.wait_for(receiver.reached("reg-1", Stage.CONFIRMED, {Stage.EXPIRED}), 5)
