"""Finding 1: a registration belongs to whoever proved the contact.

Before: a second portal token that started a registration for the same phone got the running
registration's id and could set its own password and profile (the account carried its surname
and password hash). Now a start answers with a session, and only the session through which the
contact code was entered takes the later steps; a new start for the phone joins with a session
that has proven nothing, sees nothing of the progress, and takes the registration over only by
entering a fresh code sent to the phone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from settings import Settings
from simulators.control import SimulatorControl
from store import repository
from store.passwords import verify_password
from tests.api.conftest import Tokens
from tests.citizens import PASSWORD, Citizen
from tests.journeys import age_code_sends
from tests.security.conftest import ApiWith

ATTACKER_PASSWORD = "Vzlom#Parol99"
ONE_HOUR = timedelta(hours=1)


@pytest.fixture
def victim(http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl) -> Iterator[Citizen]:
    yield Citizen(http, tokens.portal, outbox)


async def test_a_second_start_for_the_phone_gets_nothing_of_the_registration(
    victim: Citizen,
    fresh_portal: str,
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    assert (await victim.start()).status_code == 201
    assert (await victim.confirm_contact()).json()["accepted"]

    attacker = Citizen(http, fresh_portal, outbox, phone=victim.phone)
    started = await attacker.start(surname="Злоумышленников")
    assert started.status_code == 201
    assert attacker.id == victim.id and attacker.session != victim.session
    # Its view is a fresh start's: the contact stage of its own claim, no progress.
    view = started.json()["state"]
    assert (view["stage"], view["level"]) == ("contact_confirmation", "none")
    assert view["method"] is None and view["last_rejection"] is None

    for method, path, body in (
        ("PUT", "/password", {"password": ATTACKER_PASSWORD, "password_repeated": "x"}),
        ("PUT", "/profile", {}),
        ("PUT", "/confirmation-method", {"method": "in_person"}),
        ("POST", "/letter-code", {"code": "ABCDE-FGHJK"}),
        ("POST", "/cancel", {"reason": "mine now"}),
    ):
        answer = await attacker.call(method, path, body)
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "contact_not_proven"
    # Without a session, or with one of its own guessing, it finds nothing at all.
    bare = await http.get(
        f"/v1/registrations/{victim.id}", headers={"Authorization": f"Bearer {fresh_portal}"}
    )
    assert (bare.status_code, bare.json()["code"]) == (401, "session_required")
    attacker.session = "grs_" + "A" * 43
    guessed = await attacker.call("GET", "")
    assert (guessed.status_code, guessed.json()["code"]) == (404, "not_found")

    # The victim goes on; the account is the victim's, with the victim's password.
    assert (await victim.set_password()).status_code == 200
    account = await repository.get_account_for_registration(store_engine, victim.id)
    assert account is not None and account.surname == "Иванова"
    assert verify_password(account.password_hash, PASSWORD)


async def test_the_contact_s_holder_takes_over_only_with_a_fresh_code(
    api_with: ApiWith,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    tokens: Tokens,
) -> None:
    """The phone's holder starting again on another device: a fresh code goes to the phone;
    entering it hands the registration to the new session and revokes the old one."""
    # Registrations of this API wait 1 s, not 60, between codes: the takeover comes "later".
    policy = stack_settings.policy.model_copy(update={"resend_cooldown": timedelta(seconds=1)})
    async with api_with(policy=policy) as http:
        await take_over(http, tokens, fresh_portal, outbox, store_engine, stack_settings)


async def take_over(
    http: httpx.AsyncClient,
    tokens: Tokens,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
) -> None:
    victim = Citizen(http, tokens.portal, outbox)
    assert (await victim.start()).status_code == 201
    first_code = await outbox.sms_code(victim.phone)
    assert (await victim.call("POST", "/contact-code", {"code": first_code})).json()["accepted"]
    # The old code proves nothing now; a new one is sent once the contact's cooldown is over.
    await age_code_sends(store_engine, victim.phone, ONE_HOUR)
    await asyncio.sleep(1.1)

    new_device = Citizen(http, fresh_portal, outbox, phone=victim.phone)
    assert (await new_device.start()).status_code == 201
    old = await new_device.call("POST", "/contact-code", {"code": first_code})
    assert old.status_code == 200 and old.json()["accepted"] is False
    fresh = await outbox.sms_code(victim.phone)
    assert fresh != first_code
    taken = await new_device.call("POST", "/contact-code", {"code": fresh})
    assert taken.json()["accepted"] is True, taken.text
    assert taken.json()["stage"] == "password"

    revoked = await victim.set_password()
    assert (revoked.status_code, revoked.json()["code"]) == (403, "session_revoked")
    assert (await new_device.set_password(ATTACKER_PASSWORD)).status_code == 200
    account = await repository.get_account_for_registration(store_engine, victim.id)
    assert account is not None and verify_password(account.password_hash, ATTACKER_PASSWORD)

    trail = await http.get(
        f"/v1/support/registrations/{victim.id}/audit",
        headers={"Authorization": f"Bearer {tokens.support}"},
    )
    events = [line["event"] for line in trail.json()["lines"]]
    assert events.count("session_bound") == 1 and events.count("session_taken_over") == 1
    assert "contact_reproof_requested" in events


async def test_a_session_works_only_through_the_portal_that_opened_it(
    victim: Citizen, fresh_portal: str, http: httpx.AsyncClient
) -> None:
    """A session secret that leaked (a log, a proxy) is worth nothing to another token."""
    assert (await victim.start()).status_code == 201
    assert (await victim.confirm_contact()).json()["accepted"]
    thief = Citizen(http, fresh_portal, victim.outbox, phone=victim.phone)
    thief.id, thief.session = victim.id, victim.session
    for method, path in (("GET", ""), ("PUT", "/password")):
        answer = await thief.call(method, path, {"password": "x", "password_repeated": "x"})
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), answer.text
    assert (await victim.call("GET", "")).status_code == 200
