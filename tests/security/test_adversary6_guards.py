"""Sixth adversarial pass, regression guards for probes that found nothing.

- Step outcomes (`store/idempotency.py` `step_outcomes`) are per client: two partners that
  happen to send the same `Idempotency-Key` for one registration each get their own step.
  A refused bank's answer is not served to another bank that would confirm, nor planted for it.
- A consumed e-mail link opens no second session: the token is used up by its first right
  entry, and the refused second entry leaves no session behind.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Role
from registration.journey import Stage
from settings import Settings
from simulators.control import SimulatorControl
from store import access
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.data import BANK_IDENTITY


async def test_two_banks_with_the_same_idempotency_key_get_their_own_steps(
    http: httpx.AsyncClient,
    tokens: Tokens,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    _, other_bank = await access.create_client(
        store_engine, stack_settings.token_pepper_bytes, Role.BANK, "another bank"
    )
    key = {"Idempotency-Key": "confirmation-1"}
    url = f"/v1/partners/bank/registrations/{citizen.id}/confirmation"

    refused = await http.post(
        url, json=BANK_IDENTITY | {"surname": "Петрова"}, headers=bearer(tokens.bank) | key
    )
    assert refused.status_code == 200 and refused.json()["confirmed"] is False, refused.text
    confirmed = await http.post(url, json=BANK_IDENTITY, headers=bearer(other_bank) | key)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmed"] is True, (
        "another bank's step under the same key was answered with the first bank's refusal"
    )
    assert (await citizen.wait_for(Stage.CONFIRMED))["method"] == "bank"


async def test_a_consumed_e_mail_link_opens_no_second_session(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl, store_engine: AsyncEngine
) -> None:
    address = f"maria.{uuid.uuid4().hex[:8]}@example.ru"
    started = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "email": address},
        headers=bearer(fresh_portal),
    )
    assert started.status_code == 201, started.text
    rid = started.json()["registration_id"]
    token = await outbox.email_token(address)
    link = f"/v1/registrations/{rid}/email-link"

    first = await http.post(link, json={"token": token}, headers=bearer(fresh_portal))
    assert first.status_code == 200 and first.json()["session"], first.text
    again = await http.post(link, json={"token": token}, headers=bearer(fresh_portal))
    assert again.status_code != 200 or again.json().get("session") is None, again.text
    owner = await http.get(
        f"/v1/registrations/{rid}",
        headers=bearer(fresh_portal) | {"X-Registration-Session": first.json()["session"]},
    )
    assert owner.status_code == 200 and owner.json()["stage"] == "password", owner.text
