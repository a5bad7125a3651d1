"""Finding 8: clerk and partner confirmations teach nothing.

Before: a bank could send confirmation after confirmation, changing one field at a time, and
every refusal named the field that differed ("Bank data do not match: passport_number") — an
oracle for a person's documents, at 11.6 answers a second, with every refusal kept in the
workflow's state forever. A clerk's confirmation at any stage still wrote the service center
and flagged the registration for attention. Now partners hear only that the data do not
confirm the registration (the fields go to the audit trail), five refusals lock confirmation
for a day and flag it for support, and a confirmation out of its stage is refused and writes
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.common import TypedSearchAttributes

from registration.journey import Stage
from service.registrations import Registrations
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.data import BANK_IDENTITY
from workflows import search_attributes as search

DOCUMENTS = {"passport_series": "4512", "passport_number": "345678", "snils": "112-233-445 95"}
FIELDS = ("surname", "name", "patronymic", "birth_date", "snils", "passport", "series", "number")


@pytest.fixture
async def citizen(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl
) -> AsyncIterator[Citizen]:
    yield Citizen(http, fresh_portal, outbox)


async def bank_confirms(
    http: httpx.AsyncClient, tokens: Tokens, rid: str, **changes: str
) -> httpx.Response:
    return await http.post(
        f"/v1/partners/bank/registrations/{rid}/confirmation",
        json=BANK_IDENTITY | changes,
        headers=bearer(tokens.bank),
    )


async def clerk_confirms(http: httpx.AsyncClient, tokens: Tokens, rid: str) -> httpx.Response:
    return await http.post(
        f"/v1/clerk/registrations/{rid}/in-person-confirmation",
        json=DOCUMENTS,
        headers=bearer(tokens.clerk),
    )


async def refusals_in_audit(
    http: httpx.AsyncClient, tokens: Tokens, rid: str, count: int
) -> list[dict[str, Any]]:
    """The audit trail's `confirmation_refused` lines, once `count` of them are written."""
    lines: list[dict[str, Any]] = []
    for _ in range(100):
        trail = await http.get(
            f"/v1/support/registrations/{rid}/audit", headers=bearer(tokens.support)
        )
        assert trail.status_code == 200, trail.text
        lines = [line for line in trail.json()["lines"] if line["event"] == "confirmation_refused"]
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(lines)} refusals in the audit trail, not {count}")


async def search_attributes(registrations: Registrations, rid: str) -> TypedSearchAttributes:
    description = await registrations.client.get_workflow_handle(rid).describe()
    return description.typed_search_attributes


async def test_bank_refusals_are_all_alike_and_only_the_audit_trail_names_the_field(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    probes: list[dict[str, str]] = [
        {"passport_number": "345679"},
        {"passport_number": "345670"},
        {"passport_series": "4513"},
        {"birth_date": "1990-05-16"},
    ]
    answers = [await bank_confirms(http, tokens, citizen.id, **probe) for probe in probes]

    assert {answer.status_code for answer in answers} == {200}
    bodies = [answer.json() for answer in answers]
    assert all(body == bodies[0] for body in bodies), bodies
    assert bodies[0]["confirmed"] is False
    assert bodies[0]["reason"] == "The data do not confirm this registration"
    assert not any(field in answers[0].text for field in FIELDS), answers[0].text

    lines = await refusals_in_audit(http, tokens, citizen.id, len(probes))
    assert [line["details"]["mismatched"] for line in lines] == [
        ["passport_number"],
        ["passport_number"],
        ["passport_series"],
        ["birth_date"],
    ]
    assert {line["details"]["reason"] for line in lines} == {"identity_mismatch"}


async def test_five_refusals_lock_confirmation_even_for_the_right_data_and_flag_support(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens, registrations: Registrations
) -> None:
    await citizen.reach_identity_stage()
    refusals = [
        await bank_confirms(http, tokens, citizen.id, passport_number=f"00000{n}") for n in range(5)
    ]
    assert [r.json()["confirmed"] for r in refusals] == [False] * 5
    assert refusals[-1].json()["locked_until"] is not None

    right = [
        await bank_confirms(http, tokens, citizen.id),
        await clerk_confirms(http, tokens, citizen.id),
    ]
    for locked in right:
        assert locked.status_code == 429, locked.text
        assert locked.json()["code"] == "locked"
        assert int(locked.headers["Retry-After"]) > 23 * 3600

    state = await citizen.wait_for(Stage.IDENTITY)
    assert state["attention"] == "confirmation_locked"
    assert state["confirmations_refused"] == 5 and len(state["refused_confirmations"]) == 5
    attributes = await search_attributes(registrations, citizen.id)
    assert attributes.get(search.NEEDS_ATTENTION) is True
    assert attributes.get(search.ATTENTION) == "confirmation_locked"


async def test_a_clerk_before_the_identity_stage_is_refused_and_writes_nothing(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens, registrations: Registrations
) -> None:
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]

    answer = await clerk_confirms(http, tokens, citizen.id)

    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "wrong_stage"
    state = (await citizen.call("GET", "")).json()
    assert state["stage"] == "password"
    assert state["refused_confirmations"] == [] and state["attention"] is None
    attributes = await search_attributes(registrations, citizen.id)
    assert attributes.get(search.SERVICE_CENTER) is None
    assert attributes.get(search.NEEDS_ATTENTION) is False
    trail = await http.get(
        f"/v1/support/registrations/{citizen.id}/audit", headers=bearer(tokens.support)
    )
    assert "confirmation_refused" not in {line["event"] for line in trail.json()["lines"]}
