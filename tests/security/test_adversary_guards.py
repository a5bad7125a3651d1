"""Adversarial pass: probes that found no hole, kept as regression guards.

- A session is its registration's only: another registration's session is a 404, as an
  unknown registration is.
- A session revoked by the contact's proof elsewhere can do nothing at all, not even read.
- Refused confirmations sent all at once still lock after exactly five: the handlers that
  judge them run one at a time, each after its validator.
"""

from __future__ import annotations

import asyncio

import httpx

from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.data import BANK_IDENTITY


async def test_a_session_of_one_registration_finds_nothing_of_another(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    mine, theirs = Citizen(http, tokens.portal, outbox), Citizen(http, tokens.portal, outbox)
    assert (await mine.start()).status_code == 201
    assert (await theirs.start()).status_code == 201
    mine.id = theirs.id  # my session, their registration
    for method, path, body in (
        ("GET", "", None),
        ("POST", "/contact-code", {"code": "123456"}),
        ("POST", "/contact-code/resend", None),
    ):
        answer = await mine.call(method, path, body)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), answer.text


async def test_a_revoked_session_can_do_nothing(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, fresh_portal: str
) -> None:
    owner = Citizen(http, tokens.portal, outbox)
    assert (await owner.start()).status_code == 201
    joined = Citizen(http, fresh_portal, outbox, phone=owner.phone)
    assert (await joined.start()).status_code == 201
    assert (await owner.confirm_contact()).json()["accepted"]
    for method, path, body in (
        ("GET", "", None),
        ("POST", "/contact-code", {"code": "123456"}),
        ("POST", "/contact-code/resend", None),
        ("PUT", "/password", {"password": "Vzlom#Parol99", "password_repeated": "Vzlom#Parol99"}),
        ("POST", "/letter-code", {"code": "ABCDE-FGHJK"}),
        ("POST", "/cancel", {"reason": "mine"}),
    ):
        answer = await joined.call(method, path, body)
        assert (answer.status_code, answer.json()["code"]) == (403, "session_revoked"), answer.text


async def test_refusals_sent_at_once_lock_after_five(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, fresh_portal: str
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    answers = await asyncio.gather(
        *(
            http.post(
                f"/v1/partners/bank/registrations/{citizen.id}/confirmation",
                json=BANK_IDENTITY | {"passport_number": f"{100000 + n}"},
                headers=bearer(tokens.bank),
            )
            for n in range(12)
        )
    )
    judged = [a for a in answers if a.status_code == 200]
    assert len(judged) == 5 and not any(a.json()["confirmed"] for a in judged)
    assert all(a.status_code == 429 for a in answers if a.status_code != 200)
    state = (await citizen.call("GET", "")).json()
    assert state["confirmations_refused"] == 5 and state["confirmation_locked_until"]
