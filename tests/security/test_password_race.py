"""Finding 4: the password step has exactly one winner, and the stored hash is the winner's.

Before: two submissions with different passwords at the same moment got 200 and 409, but the
account stored the refused one (in 3 of 6 runs); any submission after a successful one
answered 500. Now each submission stages its hash under its own id and the workflow activates
only the staging its update names; a retry gets the first answer (same Idempotency-Key) or
409 `wrong_stage`.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from simulators.control import SimulatorControl
from store import repository
from store.passwords import verify_password
from tests.api.conftest import Tokens
from tests.citizens import Citizen

PASSWORDS = ("Zvezda#Polar7", "Kometa$Jupiter8")
RUNS = 6


async def race(citizen: Citizen) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(
                citizen.call(
                    "PUT",
                    "/password",
                    {"password": password, "password_repeated": password},
                    Idempotency_Key=f"{citizen.id}-{index}",
                )
                for index, password in enumerate(PASSWORDS)
            )
        )
    )


async def test_racing_passwords_store_the_winner_s(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    async def one_run() -> None:
        citizen = Citizen(http, tokens.portal, outbox)
        assert (await citizen.start()).status_code == 201
        assert (await citizen.confirm_contact()).json()["accepted"]
        answers = await race(citizen)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 409], [answer.text for answer in answers]
        winner = PASSWORDS[[answer.status_code for answer in answers].index(200)]
        loser = next(password for password in PASSWORDS if password != winner)
        refused = next(answer for answer in answers if answer.status_code == 409)
        assert refused.json()["code"] in ("password_not_staged", "wrong_stage"), refused.text
        account = await repository.get_account_for_registration(store_engine, citizen.id)
        assert account is not None
        assert verify_password(account.password_hash, winner)
        assert not verify_password(account.password_hash, loser)

    await asyncio.gather(*(one_run() for _ in range(RUNS)))


async def test_a_password_after_success_is_the_first_answer_or_409_never_500(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    citizen = Citizen(http, tokens.portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    body = {"password": PASSWORDS[0], "password_repeated": PASSWORDS[0]}
    first = await citizen.call("PUT", "/password", body, Idempotency_Key="pw-1")
    assert first.status_code == 200, first.text

    replayed = await citizen.call("PUT", "/password", body, Idempotency_Key="pw-1")
    assert (replayed.status_code, replayed.json()) == (200, first.json())
    other = {"password": PASSWORDS[1], "password_repeated": PASSWORDS[1]}
    for headers in ({"Idempotency_Key": "pw-2"}, {}):
        answer = await citizen.call("PUT", "/password", other, **headers)
        assert (answer.status_code, answer.json()["code"]) == (409, "wrong_stage"), answer.text
    # The connection is still good, and the account kept the first password.
    assert (await citizen.call("GET", "")).status_code == 200
    account = await repository.get_account_for_registration(store_engine, citizen.id)
    assert account is not None and verify_password(account.password_hash, PASSWORDS[0])
