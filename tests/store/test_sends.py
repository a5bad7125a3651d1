"""Code budgets per contact, per number range and overall, counted across registrations in
PostgreSQL: a new registration of the same contact starts from the contact's count, not from
zero, and concurrent claims never overspend."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from settings import Settings
from store.sends import (
    RETENTION,
    ContactSend,
    SendDecision,
    SendLimit,
    SendLimits,
    claim_send,
    next_send_at,
    prune_sends,
)

LIMITS = SendLimits(
    contact_cooldown=timedelta(seconds=60),
    contact_per_hour=6,
    contact_per_day=20,
    range_per_hour=200,
    total_per_hour=20000,
)
NO_COOLDOWN = SendLimits(
    contact_cooldown=timedelta(0),
    contact_per_hour=3,
    contact_per_day=5,
    range_per_hour=200,
    total_per_hour=20000,
)


def new_key() -> str:
    return uuid.uuid4().hex * 2


def new_registration() -> str:
    return f"reg-{uuid.uuid4().hex}-1"


async def sent_times(engine: AsyncEngine, contact_key: str) -> list[datetime]:
    async with engine.connect() as connection:
        rows = await connection.scalars(
            select(ContactSend.sent_at)
            .where(ContactSend.contact_key == contact_key)
            .order_by(ContactSend.sent_at)
        )
        return list(rows)


async def backdate(engine: AsyncEngine, contact_key: str, ago: timedelta, *, count: int = 1) -> str:
    """`count` sends to the contact, `ago` before now, by a registration of their own."""
    registration_id = new_registration()
    async with engine.begin() as connection:
        await connection.execute(
            insert(ContactSend).values(
                [
                    {
                        "registration_id": registration_id,
                        "sequence": sequence,
                        "contact_key": contact_key,
                        "range_key": None,
                        "sent_at": func.now() - ago,
                    }
                    for sequence in range(1, count + 1)
                ]
            )
        )
    return registration_id


async def test_a_new_registration_of_the_contact_waits_out_the_cooldown(
    store_engine: AsyncEngine,
) -> None:
    contact = new_key()
    first = await claim_send(store_engine, new_registration(), 1, contact, new_key(), LIMITS)
    second = await claim_send(store_engine, new_registration(), 1, contact, new_key(), LIMITS)

    [sent_at] = await sent_times(store_engine, contact)
    assert first.allowed
    assert second == SendDecision(
        allowed=False, limit=SendLimit.CONTACT_COOLDOWN, retry_at=sent_at + timedelta(seconds=60)
    )
    assert await next_send_at(store_engine, contact, None, LIMITS) == second.retry_at
    assert len(await sent_times(store_engine, contact)) == 1, "a refused claim records nothing"


async def test_the_hourly_cap_counts_every_registration_of_the_contact(
    store_engine: AsyncEngine,
) -> None:
    contact = new_key()
    registrations = [new_registration(), new_registration()]

    decisions = [
        await claim_send(store_engine, registrations[n % 2], n // 2 + 1, contact, None, NO_COOLDOWN)
        for n in range(4)
    ]

    first_sent = (await sent_times(store_engine, contact))[0]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].limit is SendLimit.CONTACT_PER_HOUR
    assert decisions[-1].retry_at == first_sent + timedelta(hours=1)


async def test_the_daily_cap_counts_sends_of_earlier_registrations_within_a_day(
    store_engine: AsyncEngine,
) -> None:
    contact = new_key()
    await backdate(store_engine, contact, timedelta(hours=25), count=5)  # counted by no budget
    await backdate(store_engine, contact, timedelta(hours=3), count=3)
    registration_id = new_registration()

    decisions = [
        await claim_send(store_engine, registration_id, n, contact, None, NO_COOLDOWN)
        for n in (1, 2, 3)
    ]

    oldest_in_day = (await sent_times(store_engine, contact))[5]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].limit is SendLimit.CONTACT_PER_DAY
    assert decisions[-1].retry_at == oldest_in_day + timedelta(days=1)


async def test_a_refusal_names_the_limit_that_holds_the_send_back_longest(
    store_engine: AsyncEngine,
) -> None:
    contact = new_key()
    await backdate(store_engine, contact, timedelta(hours=2), count=2)
    registration_id = new_registration()
    for n in (1, 2, 3):
        assert (
            await claim_send(store_engine, registration_id, n, contact, None, NO_COOLDOWN)
        ).allowed

    refused = await claim_send(store_engine, registration_id, 4, contact, None, NO_COOLDOWN)

    # Both caps are reached; the hourly one would let a send through sooner.
    assert refused.limit is SendLimit.CONTACT_PER_DAY
    assert refused.retry_at == (await sent_times(store_engine, contact))[0] + timedelta(days=1)


async def test_a_retried_send_is_allowed_again_and_counted_once(
    store_engine: AsyncEngine,
) -> None:
    contact, registration_id = new_key(), new_registration()

    first = await claim_send(store_engine, registration_id, 1, contact, new_key(), LIMITS)
    retried = await claim_send(store_engine, registration_id, 1, contact, new_key(), LIMITS)

    assert first.allowed and retried.allowed, "the cooldown does not refuse the same send"
    assert len(await sent_times(store_engine, contact)) == 1


async def test_the_range_cap_counts_every_number_of_the_range(store_engine: AsyncEngine) -> None:
    limits = SendLimits(
        contact_cooldown=timedelta(seconds=60),
        contact_per_hour=6,
        contact_per_day=20,
        range_per_hour=2,
        total_per_hour=20000,
    )
    pumped = new_key()

    decisions = [
        await claim_send(store_engine, new_registration(), 1, new_key(), pumped, limits)
        for _ in range(3)
    ]
    elsewhere = await claim_send(store_engine, new_registration(), 1, new_key(), new_key(), limits)

    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].limit is SendLimit.RANGE_PER_HOUR
    assert decisions[-1].retry_at is not None
    assert elsewhere.allowed, "another range has its own budget"


async def test_the_total_cap_counts_every_contact(store_engine: AsyncEngine) -> None:
    async with store_engine.connect() as connection:
        in_last_hour = await connection.scalar(
            select(func.count()).where(ContactSend.sent_at > func.now() - timedelta(hours=1))
        )
    assert in_last_hour is not None
    limits = SendLimits(
        contact_cooldown=timedelta(seconds=60),
        contact_per_hour=6,
        contact_per_day=20,
        range_per_hour=200,
        total_per_hour=in_last_hour + 1,
    )

    last = await claim_send(store_engine, new_registration(), 1, new_key(), None, limits)
    over = await claim_send(store_engine, new_registration(), 1, new_key(), None, limits)

    assert last.allowed
    assert (over.allowed, over.limit) == (False, SendLimit.TOTAL_PER_HOUR)


@pytest.mark.parametrize(("limits", "allowed"), [(LIMITS, 1), (NO_COOLDOWN, 3)])
async def test_concurrent_claims_for_one_contact_never_overspend(
    store_engine: AsyncEngine, limits: SendLimits, allowed: int
) -> None:
    contact, phone_range = new_key(), new_key()

    decisions = await asyncio.gather(
        *(
            claim_send(store_engine, new_registration(), 1, contact, phone_range, limits)
            for _ in range(10)
        )
    )

    assert sum(d.allowed for d in decisions) == allowed
    assert len(await sent_times(store_engine, contact)) == allowed


async def test_a_contact_never_sent_to_may_be_sent_to_now(store_engine: AsyncEngine) -> None:
    assert await next_send_at(store_engine, new_key(), new_key(), LIMITS) is None


async def test_pruning_drops_only_sends_no_budget_counts(store_engine: AsyncEngine) -> None:
    contact = new_key()
    await backdate(store_engine, contact, RETENTION + timedelta(minutes=1))
    await backdate(store_engine, contact, timedelta(hours=23))

    assert await prune_sends(store_engine) >= 1

    [kept] = await sent_times(store_engine, contact)
    assert await next_send_at(store_engine, contact, None, LIMITS) is None
    assert kept is not None


def test_limits_come_from_the_settings() -> None:
    limits = SendLimits.from_settings(Settings(contact_codes_per_day=12))

    assert limits == SendLimits(
        contact_cooldown=timedelta(seconds=60),
        contact_per_hour=6,
        contact_per_day=12,
        range_per_hour=200,
        total_per_hour=20000,
    )


@pytest.mark.parametrize(
    "change",
    [{"contact_cooldown": timedelta(seconds=-1)}, {"contact_per_day": 0}, {"total_per_hour": -5}],
)
def test_a_budget_that_allows_nothing_is_refused(change: dict[str, object]) -> None:
    fields: dict[str, object] = {**LIMITS.__dict__, **change}
    with pytest.raises(ValueError, match=r"cooldown|at least one code"):
        SendLimits(**fields)  # type: ignore[arg-type]
