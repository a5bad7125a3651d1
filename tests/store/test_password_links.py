"""Accounts made at a counter, and the one-time links their citizens set a password with,
against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.activity_messages import (
    ActivatePassword,
    OpenCounterAccount,
    OpenRegistration,
)
from registration.journey import Origin, Stage
from registration.messages import CounterClerk
from store import password_links, repository
from store.passwords import verify_password
from store.repository import ContactAlreadyRegistered
from tests.store.test_repository import PERSON, STAGED_HASH, audit, opened, phone

CLERK = CounterClerk(clerk_id="clk_1", service_center_id="mfc-77-001")
HOUR = timedelta(hours=1)


async def counter_account(engine: AsyncEngine) -> str:
    """A registration opened at a counter, with its password-less account."""
    registration_id = f"reg-{uuid.uuid4()}"
    await repository.open_registration(
        engine,
        OpenRegistration(
            registration_id=registration_id,
            contact=phone(),
            person=PERSON,
            audit=audit(registration_id, 1, Stage.CONTACT, "registration_started"),
            counter=CLERK,
        ),
    )
    step = OpenCounterAccount(
        registration_id=registration_id, audit=audit(registration_id, 2, Stage.VERIFICATION)
    )
    assert await repository.open_counter_account(engine, step)
    assert not await repository.open_counter_account(engine, step), "a retry changes nothing"
    return registration_id


async def password_of(engine: AsyncEngine, registration_id: str) -> str | None:
    account = await repository.get_account_for_registration(engine, registration_id)
    assert account is not None
    return account.password_hash


async def test_a_counter_registration_records_its_center_and_an_account_without_password(
    store_engine: AsyncEngine,
) -> None:
    registration_id = await counter_account(store_engine)

    registration = await repository.get_registration(store_engine, registration_id)
    assert registration is not None
    assert registration.origin is Origin.SERVICE_CENTER
    assert (registration.service_center_id, registration.clerk_id) == ("mfc-77-001", "clk_1")
    assert await password_of(store_engine, registration_id) is None
    assert not verify_password(None, "anything"), "no password opens an account without one"


async def test_a_counter_account_is_refused_when_the_contact_has_one(
    store_engine: AsyncEngine,
) -> None:
    first = await opened(store_engine)
    second = await opened(store_engine, contact=first.contact)  # opened before the account
    await repository.stage_password(store_engine, first.registration_id, STAGED_HASH, "s")
    await repository.activate_password(
        store_engine,
        ActivatePassword(
            registration_id=first.registration_id,
            contact=first.contact,
            person=PERSON,
            audit=audit(first.registration_id, 3, Stage.PASSWORD),
            staged_id="s",
        ),
    )
    with pytest.raises(ContactAlreadyRegistered):
        await repository.open_counter_account(
            store_engine,
            OpenCounterAccount(
                registration_id=second.registration_id,
                audit=audit(second.registration_id, 2, Stage.VERIFICATION),
            ),
        )


async def test_a_link_sets_the_password_once(store_engine: AsyncEngine) -> None:
    registration_id = await counter_account(store_engine)
    await password_links.save_link(store_engine, registration_id, 1, "a" * 64, HOUR)
    await password_links.save_link(store_engine, registration_id, 1, "b" * 64, HOUR)  # a retry

    with pytest.raises(password_links.LinkInvalid):
        await password_links.set_password(store_engine, registration_id, "b" * 64, STAGED_HASH)
    await password_links.set_password(store_engine, registration_id, "a" * 64, STAGED_HASH)
    assert await password_of(store_engine, registration_id) == STAGED_HASH
    with pytest.raises(password_links.LinkInvalid):
        await password_links.set_password(store_engine, registration_id, "a" * 64, "other")
    assert await password_of(store_engine, registration_id) == STAGED_HASH


async def test_a_link_out_of_date_or_of_another_registration_sets_nothing(
    store_engine: AsyncEngine,
) -> None:
    registration_id = await counter_account(store_engine)
    other = await counter_account(store_engine)
    await password_links.save_link(store_engine, registration_id, 1, "c" * 64, -HOUR)
    await password_links.save_link(store_engine, registration_id, 2, "d" * 64, HOUR)

    with pytest.raises(password_links.LinkInvalid):
        await password_links.set_password(store_engine, registration_id, "c" * 64, STAGED_HASH)
    with pytest.raises(password_links.LinkInvalid):
        await password_links.set_password(store_engine, other, "d" * 64, STAGED_HASH)
    assert await password_of(store_engine, registration_id) is None
    assert await password_of(store_engine, other) is None


async def test_of_two_racing_uses_of_a_link_exactly_one_sets_the_password(
    store_engine: AsyncEngine,
) -> None:
    registration_id = await counter_account(store_engine)
    await password_links.save_link(store_engine, registration_id, 1, "e" * 64, HOUR)

    outcomes = await asyncio.gather(
        *(
            password_links.set_password(store_engine, registration_id, "e" * 64, f"hash-{n}")
            for n in range(2)
        ),
        return_exceptions=True,
    )
    failed = [o for o in outcomes if isinstance(o, password_links.LinkInvalid)]
    assert len(failed) == 1 and outcomes.count(None) == 1
    winner = outcomes.index(None)
    assert await password_of(store_engine, registration_id) == f"hash-{winner}"
