"""Adversarial pass: a password step of the session a takeover revokes still lands after it.

Actor: whoever holds the registration's first proven session (e.g. someone who once saw the
SMS code, or had the phone for a moment) while the phone's holder takes the registration over
from another device.

docs/security.md: "The workflow's validators check again: every citizen update names its
session, so a step racing a takeover cannot slip through." `password_set` checks the owner in
its validator only. Its handler waits for the update lock, which the takeover holds while it
records the binding (`bind_session`, an activity); once the takeover is done and the old
session is revoked, the handler activates the old session's password without checking the
owner again. The takeover's session then owns a registration whose account carries the
revoked session's password (`409 wrong_stage` for its own), so the revoked session can log
in to the account the phone's holder goes on to complete.

In production the window is the `bind_session` activity (tens of milliseconds); here a row
lock on the registration holds that activity, so the race is run deterministically, with the
revoked session's update sent by the service as `PUT /password` sends it (the password staged
in the store, then the update naming the staging).

Suggested fix: re-check `_require_owner(request.session_id)` inside `password_set`'s lock (as
`choose_method` and `request_new_code` do), before activating the password.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.messages import PasswordSet, StepDone
from service.registrations import Registrations
from service.sessions import session_hash
from settings import Settings
from simulators.control import SimulatorControl
from store import repository
from store.passwords import hash_password, verify_password
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.journeys import age_code_sends
from tests.security.conftest import ApiWith

OLD_DEVICE_PASSWORD = "Staryi#Parol42"


async def bind_is_waiting(engine: AsyncEngine) -> bool:
    """Whether a store write (the takeover's `bind_session`: the only one of this test's)
    waits for the row lock the test holds. Asked of PostgreSQL, since the write may run as a
    local activity, which Temporal does not list as pending."""
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query ILIKE '%registrations%'"
            )
        )
    return bool(waiting)


async def test_a_revoked_session_s_password_does_not_land_after_a_takeover(
    api_with: ApiWith,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    tokens: Tokens,
    registrations: Registrations,
) -> None:
    policy = stack_settings.policy.model_copy(update={"resend_cooldown": timedelta(seconds=1)})
    async with api_with(policy=policy) as http:
        old_device = Citizen(http, tokens.portal, outbox)
        assert (await old_device.start()).status_code == 201
        assert (await old_device.confirm_contact()).json()["accepted"]
        rid = old_device.id
        old = await repository.find_session(
            store_engine, rid, session_hash(stack_settings.code_secret_bytes, old_device.session)
        )
        assert old is not None and old.proven

        # The phone's holder, on another device, is sent a fresh code.
        await age_code_sends(store_engine, old_device.phone, timedelta(hours=1))
        await asyncio.sleep(1.1)
        holder = Citizen(http, fresh_portal, outbox, phone=old_device.phone)
        assert (await holder.start()).status_code == 201
        fresh_code = await outbox.sms_code(holder.phone)

        # The old device's PUT /password has passed the session check and staged its hash.
        staged = "old-device-staging"
        await repository.stage_password(
            store_engine, rid, hash_password(OLD_DEVICE_PASSWORD), staged
        )

        handle = registrations.client.get_workflow_handle(rid)
        async with store_engine.connect() as blocker:
            transaction = await blocker.begin()
            await blocker.execute(
                text("SELECT 1 FROM registrations WHERE registration_id = :rid FOR UPDATE"),
                {"rid": rid},
            )
            takeover = asyncio.create_task(
                holder.call("POST", "/contact-code", {"code": fresh_code})
            )
            for _ in range(100):
                if await bind_is_waiting(store_engine):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the takeover never reached bind_session")
            # The old device's update arrives while the takeover records the binding.
            late = asyncio.create_task(
                handle.execute_update(
                    "password_set",
                    PasswordSet(session_id=old.id, staged_id=staged),
                    result_type=StepDone,
                )
            )
            await asyncio.sleep(1.0)
            await transaction.rollback()

        taken = await takeover
        assert taken.json()["accepted"] is True, taken.text
        with contextlib.suppress(Exception):
            await late

        revoked = await repository.find_session(
            store_engine, rid, session_hash(stack_settings.code_secret_bytes, old_device.session)
        )
        assert revoked is not None and revoked.revoked
        account = await repository.get_account_for_registration(store_engine, rid)
        assert account is None or not verify_password(account.password_hash, OLD_DEVICE_PASSWORD), (
            "the revoked session's password became the account's after the takeover"
        )
        own = await holder.set_password("Novyi#Parol77")
        assert own.status_code == 200, own.text
