"""How many registrations are where: the stage gauges, counted in Temporal's visibility.

Counting is a query per number (`count_workflows` over our search attributes), so it runs on a
slow schedule in one place, the worker (`worker.py`, every `stage_gauges_seconds`), and never
per request. Several workers export the same numbers; the alerting rules and the dashboard
take their `max`. Only registrations served on the worker's task queue are counted (a
workflow someone started elsewhere under our type is none of ours, as in `service.support`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge
from temporalio.client import Client

from metrics import journey
from registration.journey import FINAL_STAGES, Agency, Attention, Stage
from service.support import RUNNING, STUCK_RULES, stuck_query, visibility_time
from workflows import search_attributes as search

log = logging.getLogger(__name__)
RPC_TIMEOUT = timedelta(seconds=10)
AN_HOUR = timedelta(hours=1)


def queries(task_queue: str, now: datetime) -> list[tuple[Gauge, dict[str, str], str]]:
    """Each gauge's series and the visibility query that counts it."""
    ours = f'{RUNNING} AND TaskQueue = "{task_queue}"'
    an_hour_ago = visibility_time(now - AN_HOUR)
    counted: list[tuple[Gauge, dict[str, str], str]] = []
    for stage in Stage:
        if stage not in FINAL_STAGES:
            where = f'{search.STAGE.name} = "{stage.value}"'
            counted.append((journey.RUNNING, {"stage": stage.value}, f"{ours} AND {where}"))
    for agency in Agency:
        where = f'{search.PENDING_AGENCY.name} = "{agency.value}"'
        counted.append((journey.AWAITING_AGENCY, {"agency": agency.value}, f"{ours} AND {where}"))
        longer = f'{where} AND {search.PENDING_SINCE.name} < "{an_hour_ago}"'
        counted.append(
            (journey.AWAITING_AGENCY_OVER_AN_HOUR, {"agency": agency.value}, f"{ours} AND {longer}")
        )
    for rule in STUCK_RULES:
        query = stuck_query(now, stage=rule.stage, task_queue=task_queue)
        counted.append((journey.STUCK, {"stage": rule.stage.value}, query))
    for attention in Attention:
        where = f'{search.ATTENTION.name} = "{attention.value}"'
        counted.append(
            (journey.NEEDING_ATTENTION, {"attention": attention.value}, f"{ours} AND {where}")
        )
    expired = Attention.LETTER_CODE_EXPIRED.value
    in_flight = (
        f'{search.STAGE.name} = "{Stage.IDENTITY.value}" AND {search.LETTERS_SENT.name} > 0 '
        f'AND ({search.ATTENTION.name} IS NULL OR {search.ATTENTION.name} != "{expired}")'
    )
    counted.append((journey.LETTERS_IN_FLIGHT, {}, f"{ours} AND {in_flight}"))
    return counted


async def count_once(client: Client, task_queue: str) -> None:
    """Count every gauge now; a query that fails leaves its gauge as it was, and the
    refresh time unchanged."""
    now = datetime.now(UTC)
    for gauge, labels, query in queries(task_queue, now):
        counted = await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)
        (gauge.labels(**labels) if labels else gauge).set(counted.count)
    journey.GAUGES_REFRESHED.set(now.timestamp())


async def keep_counting(client: Client, task_queue: str, every: timedelta) -> None:
    """`count_once` every `every`, until cancelled; failures are logged and retried on
    schedule (Temporal may be down for a while)."""
    while True:
        try:
            await count_once(client, task_queue)
        except Exception as error:
            log.warning("counting registrations per stage failed: %s", type(error).__name__)
        await asyncio.sleep(every.total_seconds())
