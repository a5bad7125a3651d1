"""Registrations made at a service-center counter, attacked over the real API: whoever holds
the phone cannot take one over from the portal (it would be confirmed "in person" with a
profile no clerk saw), and the one-time password link sets one password, once, and says
nothing about why another attempt failed."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.journey import Stage
from registration.messages import CounterClerk
from service.registrations import Registrations
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from store.schema import RegistrationSession
from tests.api.conftest import Tokens
from tests.citizens import bearer
from tests.data import new_phone
from tests.waiting import wait_for

CLERK = CounterClerk(clerk_id="clk_sec_1", service_center_id="mfc-77-001")
PASSWORD = "Zvezda#Polar7"


async def at_counter(registrations: Registrations, phone: str) -> str:
    profile = verifiable_profile(random_snils_body(), random_passport_number())
    return (await registrations.register_at_counter(CLERK, profile, phone=phone)).registration_id


async def test_a_phone_holder_cannot_join_a_registration_made_at_a_counter(
    http: httpx.AsyncClient,
    tokens: Tokens,
    registrations: Registrations,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    phone = new_phone()
    registration_id = await at_counter(registrations, phone)
    await outbox.sms_code(phone)

    answer = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "phone": phone},
        headers=bearer(tokens.portal),
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "at_service_center"
    assert "session" not in answer.json()
    async with store_engine.connect() as connection:
        proven = await connection.scalar(
            select(RegistrationSession.id).where(
                RegistrationSession.registration_id == registration_id,
                RegistrationSession.proven_at.is_not(None),
            )
        )
    assert proven is None, "no citizen session holds the registration"
    assert (await registrations.state(registration_id)).stage is Stage.CONTACT


async def test_a_password_link_sets_one_password_once_and_teaches_nothing(
    http: httpx.AsyncClient,
    tokens: Tokens,
    registrations: Registrations,
    outbox: SimulatorControl,
) -> None:
    phone = new_phone()
    registration_id = await at_counter(registrations, phone)
    code = await outbox.sms_code(phone)
    await registrations.submit_contact_code(registration_id, code, counter=CLERK)

    async def stage() -> Stage:
        return (await registrations.state(registration_id)).stage

    await wait_for(Stage.CONFIRMED, stage, lambda s: s, what=registration_id)
    token = parse_qs(urlsplit(await outbox.password_link(phone)).query)["token"][0]
    other = await at_counter(registrations, new_phone())

    async def use(registration: str, link_token: str) -> httpx.Response:
        return await http.post(
            f"/v1/registrations/{registration}/password-link",
            json={"token": link_token, "password": PASSWORD, "password_repeated": PASSWORD},
            headers=bearer(tokens.portal),
        )

    refusals = [
        await use(registration_id, "0" * 26),  # a guess
        await use(registration_id, "not a token"),  # malformed
        await use(other, token),  # the right token, for another registration
        await use(f"reg-{uuid.uuid4().hex}", token),  # for no registration at all
    ]
    assert {answer.status_code for answer in refusals} == {410}, [r.text for r in refusals]
    assert {(r.json()["code"], r.json()["detail"]) for r in refusals} == {
        (refusals[0].json()["code"], refusals[0].json()["detail"])
    }, "every refusal reads the same"

    racing = await asyncio.gather(*(use(registration_id, token) for _ in range(3)))
    assert sorted(answer.status_code for answer in racing) == [204, 410, 410]
