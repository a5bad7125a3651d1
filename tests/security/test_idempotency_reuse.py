"""Finding 6: an Idempotency-Key reused with a different body replayed the first answer. A
correct code sent under the key of an earlier wrong code was answered `accepted: false`.

Now a key is bound to the body it first came with, per client, route and registration: the
same key with another body is refused (422 `idempotency_key_reused`), the same body is still
a retry, and another client's or another registration's key is a different key."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from registration.callers import Role
from registration.journey import Stage
from settings import Settings
from simulators.control import SimulatorControl
from store import access
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.data import new_phone

SESSION_HEADER = "X-Registration-Session"


class Registration:
    """One citizen's registration, driven through a portal token, up to the contact code."""

    def __init__(self, http: httpx.AsyncClient, portal_token: str) -> None:
        self.http, self.portal_token = http, portal_token
        self.phone = new_phone()
        self.id = ""
        self.session: str | None = None

    def headers(self, key: str | None = None, *, token: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.portal_token}"}
        if self.session:
            headers[SESSION_HEADER] = self.session
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def start(self) -> None:
        response = await self.http.post(
            "/v1/registrations",
            json={"surname": "Иванова", "name": "Мария", "phone": self.phone},
            headers=self.headers(),
        )
        assert response.status_code == 201, response.text
        self.id = response.json()["registration_id"]
        self.session = response.json().get("session")

    async def send_code(self, code: str, key: str, *, token: str | None = None) -> httpx.Response:
        return await self.http.post(
            f"/v1/registrations/{self.id}/contact-code",
            json={"code": code},
            headers=self.headers(key, token=token),
        )

    async def stage(self) -> Stage:
        response = await self.http.get(f"/v1/registrations/{self.id}", headers=self.headers())
        assert response.status_code == 200, response.text
        return Stage(response.json()["stage"])


async def started(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> tuple[Registration, str, str]:
    """A started registration, its SMS code and a code that is wrong."""
    registration = Registration(http, tokens.portal)
    await registration.start()
    code = await outbox.sms_code(registration.phone)
    return registration, code, "000000" if code != "000000" else "111111"


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


def assert_accepted(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] is True, response.json()


@pytest.fixture
async def other_portal_token(store_engine: AsyncEngine, stack_settings: Settings) -> str:
    _, token = await access.create_client(
        store_engine, stack_settings.token_pepper_bytes, Role.PORTAL, "another portal backend"
    )
    return token


async def test_a_correct_code_under_the_key_of_a_wrong_one_is_refused_not_replayed(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    registration, code, wrong = await started(http, tokens, outbox)
    k = key()

    first = await registration.send_code(wrong, k)
    assert first.status_code == 200 and first.json()["accepted"] is False, first.text

    reused = await registration.send_code(code, k)

    assert reused.status_code == 422, reused.text
    assert reused.json()["code"] == "idempotency_key_reused"
    assert code not in reused.text
    assert await registration.stage() is Stage.CONTACT
    assert_accepted(await registration.send_code(code, key()))
    assert await registration.stage() is Stage.PASSWORD


async def test_the_same_key_with_the_same_body_replays_the_first_answer(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    registration, _, wrong = await started(http, tokens, outbox)
    k = key()

    first = await registration.send_code(wrong, k)
    # The same JSON spaced differently is the same body.
    retried = await http.post(
        f"/v1/registrations/{registration.id}/contact-code",
        content=f'{{ "code" : "{wrong}" }}',
        headers=registration.headers(k) | {"Content-Type": "application/json"},
    )

    assert first.status_code == retried.status_code == 200, (first.text, retried.text)
    assert first.json() == retried.json()
    assert first.json()["attempts_left"] == 2, "judged once: one attempt of three used"


async def test_another_callers_key_is_its_own(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, other_portal_token: str
) -> None:
    registration, code, wrong = await started(http, tokens, outbox)
    k = key()
    first = await registration.send_code(wrong, k)
    assert first.status_code == 200 and first.json()["accepted"] is False, first.text

    # The other portal joins the registration (a session of its own: sessions belong to the
    # portal that opened them) and sends the right code under the same key: neither refused
    # as a reuse nor answered with the first caller's outcome, but judged anew.
    other = Registration(http, other_portal_token)
    other.phone = registration.phone
    await other.start()
    assert other.id == registration.id
    assert_accepted(await other.send_code(code, k))


async def test_a_key_used_on_one_registration_is_new_on_another(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    one, _, wrong = await started(http, tokens, outbox)
    another, code, _ = await started(http, tokens, outbox)
    k = key()
    first = await one.send_code(wrong, k)
    assert first.status_code == 200 and first.json()["accepted"] is False, first.text

    assert_accepted(await another.send_code(code, k))


CONFIRMATIONS: list[tuple[Role, str, dict[str, Any], dict[str, Any]]] = [
    (
        Role.CLERK,
        "/v1/clerk/registrations/{id}/in-person-confirmation",
        {"passport_series": "4512", "passport_number": "999998", "snils": "11223344595"},
        {"passport_series": "4512", "passport_number": "999999", "snils": "11223344595"},
    ),
    (
        Role.BANK,
        "/v1/partners/bank/registrations/{id}/confirmation",
        {
            "surname": "Иванова",
            "name": "Мария",
            "birth_date": "1990-01-01",
            "snils": "11223344595",
            "passport_series": "4512",
            "passport_number": "999998",
        },
        {
            "surname": "Иванова",
            "name": "Мария",
            "birth_date": "1990-01-01",
            "snils": "11223344595",
            "passport_series": "4512",
            "passport_number": "999999",
        },
    ),
    (
        Role.ESIGNATURE,
        "/v1/partners/esignature/registrations/{id}/confirmation",
        {"signed_request": "first"},
        {"signed_request": "second"},
    ),
]


@pytest.mark.parametrize(("role", "path", "body", "other_body"), CONFIRMATIONS)
async def test_confirmations_take_a_key_bound_to_their_body(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    role: Role,
    path: str,
    body: dict[str, Any],
    other_body: dict[str, Any],
) -> None:
    """A judged confirmation (here refused: the documents differ) binds its key. A request
    that was not applied binds none (test_adversary4_idempotency_growth)."""
    citizen = Citizen(http, tokens.portal, outbox)
    await citizen.reach_identity_stage()
    url = path.format(id=citizen.id)
    headers = {"Authorization": f"Bearer {tokens.of(role)}", "Idempotency-Key": key()}

    first = await http.post(url, json=body, headers=headers)
    assert first.status_code == 200 and first.json()["confirmed"] is False, first.text

    reused = await http.post(url, json=other_body, headers=headers)

    assert reused.status_code == 422, reused.text
    assert reused.json()["code"] == "idempotency_key_reused"
