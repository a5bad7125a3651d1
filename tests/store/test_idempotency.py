"""Idempotency keys against a real PostgreSQL: a key is bound to the fingerprint it first came
with, within its scope, until it is pruned."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from store import idempotency
from store.idempotency import IdempotencyKeyUse, KeyUse, StepRecord

DAY = timedelta(days=1)


def _scope() -> str:
    return f"cl_test POST /v1/registrations/{{registration_id}}/contact-code reg-{uuid.uuid4().hex}"


async def _age(engine: AsyncEngine, scope: str, by: timedelta) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(IdempotencyKeyUse)
            .where(IdempotencyKeyUse.scope == scope)
            .values(created_at=func.now() - by)
        )


async def _stored(engine: AsyncEngine, scope: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.scalars(
            select(IdempotencyKeyUse.fingerprint).where(IdempotencyKeyUse.scope == scope)
        )
        return list(rows)


async def test_a_key_is_bound_to_the_fingerprint_it_first_came_with(
    store_engine: AsyncEngine,
) -> None:
    scope = _scope()

    assert await idempotency.remember(store_engine, scope, "k", "a" * 64) is KeyUse.FIRST
    assert await idempotency.remember(store_engine, scope, "k", "a" * 64) is KeyUse.RETRY
    assert await idempotency.remember(store_engine, scope, "k", "b" * 64) is KeyUse.OTHER_BODY
    # A refused use changes nothing: the first request's retries still go through.
    assert await idempotency.remember(store_engine, scope, "k", "a" * 64) is KeyUse.RETRY
    assert await _stored(store_engine, scope) == ["a" * 64]


async def test_a_forgotten_key_is_new_again(store_engine: AsyncEngine) -> None:
    scope = _scope()
    await idempotency.remember(store_engine, scope, "k", "a" * 64)

    await idempotency.forget(store_engine, scope, "k")

    assert await _stored(store_engine, scope) == []
    assert await idempotency.remember(store_engine, scope, "k", "b" * 64) is KeyUse.FIRST


async def test_the_same_key_in_another_scope_is_another_key(store_engine: AsyncEngine) -> None:
    scope, other = _scope(), _scope()

    assert await idempotency.remember(store_engine, scope, "k", "a" * 64) is KeyUse.FIRST
    assert await idempotency.remember(store_engine, other, "k", "b" * 64) is KeyUse.FIRST
    assert await idempotency.remember(store_engine, scope, "other-key", "b" * 64) is KeyUse.FIRST


async def test_racing_first_uses_with_different_bodies_have_one_winner(
    store_engine: AsyncEngine,
) -> None:
    scope = _scope()
    fingerprints = [f"{n:064x}" for n in range(8)]

    verdicts = await asyncio.gather(
        *(idempotency.remember(store_engine, scope, "k", fp) for fp in fingerprints)
    )

    assert verdicts.count(KeyUse.FIRST) == 1
    assert verdicts.count(KeyUse.OTHER_BODY) == len(fingerprints) - 1
    assert await _stored(store_engine, scope) == [fingerprints[verdicts.index(KeyUse.FIRST)]]


async def test_racing_retries_with_the_same_body_all_go_through(
    store_engine: AsyncEngine,
) -> None:
    scope = _scope()

    verdicts = await asyncio.gather(
        *(idempotency.remember(store_engine, scope, "k", "a" * 64) for _ in range(8))
    )

    assert sorted(v.value for v in verdicts) == ["first"] + ["retry"] * 7


async def test_pruning_forgets_keys_past_their_lifetime_only(store_engine: AsyncEngine) -> None:
    old, young = _scope(), _scope()
    await idempotency.remember(store_engine, old, "k", "a" * 64)
    await idempotency.remember(store_engine, young, "k", "a" * 64)
    await _age(store_engine, old, by=31 * DAY)
    await _age(store_engine, young, by=29 * DAY)

    assert await idempotency.prune(store_engine, older_than=30 * DAY) >= 1

    assert await _stored(store_engine, old) == []
    assert await idempotency.remember(store_engine, old, "k", "b" * 64) is KeyUse.FIRST
    assert await idempotency.remember(store_engine, young, "k", "b" * 64) is KeyUse.OTHER_BODY


async def test_an_applied_steps_first_answer_is_kept(
    store_engine: AsyncEngine,
) -> None:
    rid = f"reg-{uuid.uuid4().hex}"
    assert await idempotency.step_record(store_engine, rid, "cancel:k") == StepRecord()

    await idempotency.remember_outcome(store_engine, rid, "cancel:k", {"stage": "cancelled"})
    await idempotency.remember_outcome(store_engine, rid, "cancel:k", {"stage": "other"})

    kept = await idempotency.step_record(store_engine, rid, "cancel:k")
    assert kept == StepRecord(outcome={"stage": "cancelled"})
    assert await idempotency.step_record(store_engine, rid, "cancel:other-key") == StepRecord()


async def test_refused_attempts_are_counted_once_each_and_keep_the_answer_that_follows(
    store_engine: AsyncEngine,
) -> None:
    rid, step = f"reg-{uuid.uuid4().hex}", "choose_method:k"
    await idempotency.count_refusal(store_engine, rid, step, 0)
    await idempotency.count_refusal(store_engine, rid, step, 0)  # a racing retry of attempt 0
    assert await idempotency.step_record(store_engine, rid, step) == StepRecord(None, 1)

    await idempotency.count_refusal(store_engine, rid, step, 1)
    await idempotency.count_refusal(store_engine, rid, step, 0)  # late: counts nothing more
    assert await idempotency.step_record(store_engine, rid, step) == StepRecord(None, 2)

    await idempotency.remember_outcome(store_engine, rid, step, {"method": "letter"})
    await idempotency.remember_outcome(store_engine, rid, step, {"method": "other"})
    assert await idempotency.step_record(store_engine, rid, step) == StepRecord(
        {"method": "letter"}, 2
    )
