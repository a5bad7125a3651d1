"""Webhooks to the portal over real HTTP, to the simulated portal that verifies them as a
receiver should (Standard Webhooks): signed, once per id however often delivered, refused when
forged; a portal that is down is a retryable fault."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.http import HttpClient
from activities.portal import PortalActivities
from registration import webhooks
from registration.activity_messages import DeliverEvents, PortalEvent
from registration.errors import PORTAL_REJECTED, TRANSIENT_FAULT
from registration.journey import Level, Stage
from simulators.config import DEV_WEBHOOK_SECRET
from simulators.control import SimulatorControl
from simulators.server import RunningSimulators


def events(registration_id: str) -> DeliverEvents:
    at = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    return DeliverEvents(
        events=[
            PortalEvent(
                id=f"{registration_id}/{n}",
                occurred_at=at,
                registration_id=registration_id,
                stage=stage,
                level=Level.SIMPLIFIED,
            )
            for n, stage in ((1, Stage.PASSWORD), (2, Stage.PROFILE))
        ]
    )


def portal(simulators: RunningSimulators, http: HttpClient, secret: str) -> PortalActivities:
    return PortalActivities(http, f"{simulators.url}/portal/events", secret)


async def test_events_arrive_signed_and_once_per_id_however_often_delivered(
    simulators: RunningSimulators, http: HttpClient, control: SimulatorControl
) -> None:
    activity = portal(simulators, http, DEV_WEBHOOK_SECRET)
    for _ in range(2):  # a retried delivery sends them all again
        await ActivityEnvironment().run(activity.deliver_events, events("reg-a-1"))
    received = await control.portal_events("reg-a-1")
    assert [(e.id, e.data["stage"], e.deliveries) for e in received] == [
        ("reg-a-1/1", "password", 2),
        ("reg-a-1/2", "profile", 2),
    ]
    assert set(received[0].data) == {"registration_id", "stage", "level", "method"}


async def test_an_event_signed_with_another_secret_is_refused_for_good(
    simulators: RunningSimulators, http: HttpClient, control: SimulatorControl
) -> None:
    activity = portal(simulators, http, webhooks.new_secret())
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(activity.deliver_events, events("reg-b-1"))
    assert refused.value.type == PORTAL_REJECTED and refused.value.non_retryable
    assert await control.portal_events("reg-b-1") == []


async def test_a_portal_that_is_down_is_a_fault_to_retry(
    simulators: RunningSimulators, http: HttpClient, control: SimulatorControl
) -> None:
    await control.inject_fault("portal", "error_500")
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(
            portal(simulators, http, DEV_WEBHOOK_SECRET).deliver_events, events("reg-c-1")
        )
    assert failed.value.type == TRANSIENT_FAULT and not failed.value.non_retryable


def test_a_receiver_refuses_a_forged_altered_or_stale_event() -> None:
    key = webhooks.secret_key(DEV_WEBHOOK_SECRET)
    event = events("reg-d-1").events[0]
    content = webhooks.body(event)
    now = int(time.time())
    signed = webhooks.headers(key, event.id, now, content)
    assert webhooks.verify(key, signed, content, now) == event.id
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(key, signed, content.replace(b"password", b"confirmed"), now)
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(key, signed, content, now + webhooks.TOLERANCE_SECONDS + 1)
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(webhooks.secret_key(webhooks.new_secret()), signed, content, now)
    with pytest.raises(ValueError):
        webhooks.secret_key("whsec_c2hvcnQ=")
