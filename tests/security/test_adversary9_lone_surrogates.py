"""Ninth adversarial pass (MEDIUM): a lone UTF-16 surrogate in a profile or a letter address
is a 500.

Actor: any citizen who owns a registration (through the portal), or anyone holding a leaked
portal token and one phone.

Impact: JSON allows `\\ud800` escapes; Python's `json` decodes them into a `str` that cannot
be encoded as UTF-8. Some fields refuse it at the edge (password, cancel reason, codes, partner
bodies: 422), but the profile (`PUT /profile`, e.g. the surname) and the letter's address
(`PUT /confirmation-method`) are checked only inside the workflow, and before that the
`AttestingClient` hashes the update's arguments for its proof: `model_dump_json` raises
`PydanticSerializationError` (surrogates not allowed) and the API answers 500
`internal_error` with a traceback in the log. A keyed request's key is then kept as "maybe
applied". `test_odd_citizen_inputs_are_never_a_server_error` never tried it.

Reproduction: `PUT /v1/registrations/{id}/profile` with the body's `"surname": "\\ud800"`
(raw JSON text) from the owner's session -> 500.

Suggested fix: refuse text that does not encode as UTF-8 at the edge for every body (a shared
string type or a request-body check: `s.encode("utf-8")` raising `UnicodeEncodeError` -> 422
`invalid_input`), and make `attestation._canonical` never raise on user text (catch
`PydanticSerializationError` and refuse the step as invalid input).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.data import ADDRESS, BANK_IDENTITY, PROFILE, new_phone

LONE = '"\\ud800"'  # the JSON text of a string holding one lone surrogate


async def _raw(citizen: Citizen, method: str, path: str, body: str) -> httpx.Response:
    return await citizen.http.request(
        method,
        f"/v1/registrations/{citizen.id}{path}",
        content=body.encode(),
        headers=citizen.headers() | {"Content-Type": "application/json"},
    )


async def test_a_lone_surrogate_in_a_profile_is_never_a_server_error(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    assert (await citizen.set_password()).status_code == 200
    body = PROFILE.model_dump(mode="json")
    answer = await _raw(citizen, "PUT", "/profile", _with_lone_surrogate(body, "surname"))
    assert answer.status_code < 500, f"a lone surrogate in the surname: {answer.text}"


async def test_guard_lone_surrogates_checked_at_the_edge_stay_refused(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl
) -> None:
    """Guard (passes today): the fields that refuse a lone surrogate before any proof is made
    (password, cancel reason, contact code, the start's surname) keep refusing it."""
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    password = "Zvezda#Polar7\ufffd"
    answers = {
        "password": await _raw(
            citizen,
            "PUT",
            "/password",
            json.dumps({"password": password, "password_repeated": password}).replace(
                "\\ufffd", "\\ud800"
            ),
        ),
        "cancel reason": await _raw(citizen, "POST", "/cancel", f'{{"reason": {LONE}}}'),
        "contact code": await _raw(citizen, "POST", "/contact-code", f'{{"code": {LONE}}}'),
    }
    answers["start surname"] = await http.post(
        "/v1/registrations",
        content=f'{{"surname": {LONE}, "name": "Мария", "phone": "{new_phone()}"}}'.encode(),
        headers={"Authorization": f"Bearer {fresh_portal}", "Content-Type": "application/json"},
    )
    statuses = {what: a.status_code for what, a in answers.items()}
    assert all(400 <= status < 500 for status in statuses.values()), statuses


def _with_lone_surrogate(body: dict[str, Any], field: str) -> str:
    """`body` as JSON text with `field` set to one lone surrogate."""
    return json.dumps(body | {field: "\ufffd"}).replace("\\ufffd", "\\ud800")


async def test_a_lone_surrogate_at_the_identity_stage_is_never_a_server_error(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl, tokens: Tokens
) -> None:
    """The same at the identity stage: the letter's address, and a partner's body (a bank's
    surname, an e-signature relay). Today a 500 (`PydanticSerializationError` when the API
    hashes the update's arguments for its proof)."""
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    answers = {
        "letter address": await _raw(
            citizen,
            "PUT",
            "/confirmation-method",
            json.dumps(
                {"method": "letter", "address": ADDRESS.model_dump() | {"street": "\ufffd"}}
            ).replace("\\ufffd", "\\ud800"),
        )
    }
    for what, path, token, body in (
        ("bank surname", "bank", tokens.bank, _with_lone_surrogate(BANK_IDENTITY, "surname")),
        (
            "signed request",
            "esignature",
            tokens.esignature,
            _with_lone_surrogate({"signed_request": ""}, "signed_request"),
        ),
    ):
        answers[what] = await http.post(
            f"/v1/partners/{path}/registrations/{citizen.id}/confirmation",
            content=body.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    errors = {what: a.status_code for what, a in answers.items() if a.status_code >= 500}
    assert not errors, f"lone surrogates are server errors: {errors}"
