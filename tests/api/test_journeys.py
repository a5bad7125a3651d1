"""The whole journey over HTTP for each confirmation method, and every error code."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from registration.journey import Stage
from service.limits import CODE_WINDOW
from simulators.control import SimulatorControl
from simulators.esign import make_signed_request
from tests.api.conftest import Tokens
from tests.citizens import PASSWORD, Citizen, bearer, within_one_window
from tests.data import ADDRESS, BANK_IDENTITY, PROFILE, new_phone


@pytest.fixture
def citizen(http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl) -> Citizen:
    return Citizen(http, tokens.portal, outbox)


# --- the journey, once per confirmation method -------------------------------------------------


async def test_letter_journey_over_http(citizen: Citizen, outbox: SimulatorControl) -> None:
    await citizen.reach_identity_stage()
    chosen = await citizen.call(
        "PUT", "/confirmation-method", {"method": "letter", "address": ADDRESS.model_dump()}
    )
    assert chosen.status_code == 200, chosen.json()
    code = await outbox.letter_code(chosen.json()["letter"]["tracking_number"])
    verdict = await citizen.call("POST", "/letter-code", {"code": code})
    assert verdict.json()["accepted"]
    state = await citizen.wait_for(Stage.CONFIRMED)
    assert state["level"] == "confirmed" and state["method"] == "letter"


async def test_clerk_journey_over_http(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    found = await http.post(
        "/v1/clerk/registrations/search",
        json={"snils": PROFILE.snils},
        headers=bearer(tokens.clerk),
    )
    assert citizen.id in found.json()["registration_ids"]
    seen = {"passport_series": "4512", "passport_number": "345678", "snils": "11223344595"}
    answer = await http.post(
        f"/v1/clerk/registrations/{citizen.id}/in-person-confirmation",
        json=seen,
        headers=bearer(tokens.clerk),
    )
    assert answer.status_code == 200 and answer.json()["confirmed"] is True, answer.json()
    assert answer.json()["stage"] == "confirmed"
    assert (await citizen.wait_for(Stage.CONFIRMED))["method"] == "in_person"


async def test_clerk_with_other_documents_is_told_they_do_not_match(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    seen = {"passport_series": "4512", "passport_number": "999999", "snils": "11223344595"}
    answer = await http.post(
        f"/v1/clerk/registrations/{citizen.id}/in-person-confirmation",
        json=seen,
        headers=bearer(tokens.clerk),
    )
    assert answer.json()["confirmed"] is False
    assert "passport_number" in answer.json()["reason"]
    state = (await citizen.call("GET", "")).json()
    assert state["stage"] == "identity_confirmation"


async def test_esignature_journey_over_http(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    challenge = (await citizen.call("GET", "")).json()["signature_challenge"]
    signed = make_signed_request(
        snils="11223344595", surname="Иванова", name="Мария", challenge=challenge
    )
    answer = await http.post(
        f"/v1/partners/esignature/registrations/{citizen.id}/confirmation",
        json={"signed_request": signed},
        headers=bearer(tokens.esignature),
    )
    assert answer.json()["confirmed"] is True, answer.json()
    assert (await citizen.wait_for(Stage.CONFIRMED))["method"] == "esignature"


async def test_bank_journey_over_http(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    answer = await http.post(
        f"/v1/partners/bank/registrations/{citizen.id}/confirmation",
        json=BANK_IDENTITY,
        headers=bearer(tokens.bank),
    )
    assert answer.json()["confirmed"] is True, answer.json()
    assert (await citizen.wait_for(Stage.CONFIRMED))["method"] == "bank"


async def test_an_e_mail_link_opened_in_another_browser_opens_the_owning_session(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    address = f"maria.{uuid.uuid4().hex[:8]}@example.ru"
    started = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "email": address},
        headers=bearer(tokens.portal),
    )
    rid, first_session = started.json()["registration_id"], started.json()["session"]
    token = await outbox.email_token(address)
    link = f"/v1/registrations/{rid}/email-link"
    wrong = await http.post(link, json={"token": "X" * 26}, headers=bearer(tokens.portal))
    assert wrong.json()["session"] is None
    assert wrong.json()["verdict"]["accepted"] is False
    opened = await http.post(link, json={"token": token}, headers=bearer(tokens.portal))
    assert opened.status_code == 200, opened.text
    assert opened.json()["verdict"]["accepted"] is True
    session = opened.json()["session"]
    assert session and session != first_session

    def as_session(value: str) -> dict[str, str]:
        return bearer(tokens.portal) | {"X-Registration-Session": value}

    password = {"password": PASSWORD, "password_repeated": PASSWORD}
    stale = await http.put(
        f"/v1/registrations/{rid}/password", json=password, headers=as_session(first_session)
    )
    assert_error(stale, 403, "session_revoked")
    done = await http.put(
        f"/v1/registrations/{rid}/password", json=password, headers=as_session(session)
    )
    assert done.status_code == 200 and done.json()["stage"] == "profile", done.text


async def test_an_sms_registration_has_no_e_mail_link(citizen: Citizen) -> None:
    await citizen.start()
    answer = await citizen.http.post(
        f"/v1/registrations/{citizen.id}/email-link",
        json={"token": "X" * 26},
        headers=bearer(citizen.portal),
    )
    assert_error(answer, 422, "invalid_input")


# --- the error contract ---------------------------------------------------------------------


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 Problem Details answer with this status and code (and the members clients
    read before: `code`, `message`, `field`, `errors`, `details`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["type"] == f"https://gosreg.example/problems/{code}", body
    assert body["status"] == status and body["title"], body
    assert body["message"] and body["detail"] == body["message"], body
    assert {"field", "errors", "details"} <= set(body), body
    return body


async def test_routing_errors_are_problem_details_too(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/v1/nothing-here"), 404, "not_found")
    wrong_method = await http.delete("/v1/registrations")
    assert_error(wrong_method, 405, "method_not_allowed")
    assert "POST" in wrong_method.headers["Allow"]


async def test_a_password_mismatch_names_the_repeated_field(citizen: Citizen) -> None:
    await citizen.start()
    await citizen.confirm_contact()
    response = await citizen.call(
        "PUT", "/password", {"password": PASSWORD, "password_repeated": PASSWORD + "!"}
    )
    body = assert_error(response, 422, "invalid_input")
    assert body["field"] == "password_repeated"
    assert [e["field"] for e in body["errors"]] == ["password_repeated"]


@pytest.mark.parametrize("length", [101, 201])
async def test_a_long_surname_at_the_start_is_refused_as_in_the_profile(
    http: httpx.AsyncClient, tokens: Tokens, length: int
) -> None:
    response = await http.post(
        "/v1/registrations",
        json={"surname": "Ж" * length, "name": "Мария", "phone": new_phone()},
        headers=bearer(tokens.portal),
    )
    body = assert_error(response, 422, "invalid_input")
    assert (body["field"], body["message"]) == ("surname", "Surname must be at most 100 characters")
    assert body["errors"][0]["code"] == "person_name.too_long"


async def test_starting_twice_joins_the_same_registration_with_a_new_session(
    citizen: Citizen,
) -> None:
    first = await citizen.start()
    second = await citizen.start()
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["registration_id"] == second.json()["registration_id"]
    assert first.json()["session"] != second.json()["session"]


async def test_no_token_is_401_and_a_wrong_role_is_403(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    assert_error(await http.get("/v1/registrations/reg-x"), 401, "unauthenticated")
    bad = await http.get("/v1/registrations/reg-x", headers=bearer("gsr_not-a-token"))
    assert_error(bad, 401, "unauthenticated")
    clerk = await http.get("/v1/registrations/reg-x", headers=bearer(tokens.clerk))
    assert_error(clerk, 403, "forbidden")


async def test_unknown_registration_is_404(citizen: Citizen) -> None:
    await citizen.start()
    citizen.id = "reg-00000000000000000000000000000000-1"
    assert_error(await citizen.call("GET", ""), 404, "not_found")


async def test_step_of_another_stage_is_409(citizen: Citizen) -> None:
    await citizen.start()
    code = await citizen.outbox.sms_code(citizen.phone)
    await citizen.call("POST", "/contact-code", {"code": code})
    response = await citizen.call("PUT", "/profile", PROFILE.model_dump(mode="json"))
    body = assert_error(response, 409, "wrong_stage")
    assert body["details"]["stage"] == "password"


async def test_a_step_after_the_contact_needs_the_session_that_proved_it(
    citizen: Citizen,
) -> None:
    await citizen.start()
    response = await citizen.call("PUT", "/profile", PROFILE.model_dump(mode="json"))
    assert_error(response, 403, "contact_not_proven")


async def test_invalid_profile_is_422_with_the_field_and_rule(
    citizen: Citizen, outbox: SimulatorControl
) -> None:
    await citizen.start()
    await citizen.call("POST", "/contact-code", {"code": await outbox.sms_code(citizen.phone)})
    await citizen.call("PUT", "/password", {"password": PASSWORD, "password_repeated": PASSWORD})
    bad = PROFILE.model_copy(update={"snils": "112-233-445 96"}).model_dump(mode="json")
    body = assert_error(await citizen.call("PUT", "/profile", bad), 422, "invalid_input")
    assert body["field"] == "snils"
    assert body["message"] == "SNILS check digits do not match"


async def test_malformed_body_is_422_with_the_field(citizen: Citizen) -> None:
    await citizen.start()
    code = await citizen.outbox.sms_code(citizen.phone)
    await citizen.call("POST", "/contact-code", {"code": code})
    response = await citizen.call("PUT", "/profile", {"surname": "Иванова"})
    body = assert_error(response, 422, "invalid_input")
    assert body["field"] in {e["field"] for e in body["errors"]}


async def test_invalid_phone_is_422_with_the_portal_message(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "phone": "89123456789"},
        headers=bearer(tokens.portal),
    )
    body = assert_error(response, 422, "invalid_input")
    assert body["field"] == "phone"
    assert body["message"] == "Phone number must start with +7, not 8"


async def test_wrong_codes_answer_with_attempts_left_then_the_rate_limit_is_429(
    citizen: Citizen,
) -> None:
    await within_one_window(CODE_WINDOW)
    await citizen.start()
    first = await citizen.call("POST", "/contact-code", {"code": "000000"})
    assert first.status_code == 200 and first.json()["attempts_left"] == 2
    statuses = [
        (await citizen.call("POST", "/contact-code", {"code": "000000"})).status_code
        for _ in range(9)
    ]
    assert statuses[:2] == [200, 200], "2 more wrong answers, then the code is burnt"
    assert set(statuses[2:9]) == {409}, "no active code"
    limited = await citizen.call("POST", "/contact-code", {"code": "000000"})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


async def test_resend_too_soon_is_429_with_retry_after(citizen: Citizen) -> None:
    await citizen.start()
    await citizen.outbox.sms_code(citizen.phone)
    response = await citizen.call("POST", "/contact-code/resend")
    assert_error(response, 429, "resend_too_soon")
    assert 1 <= int(response.headers["Retry-After"]) <= 61


async def test_clerk_lookup_needs_snils_or_phone(http: httpx.AsyncClient, tokens: Tokens) -> None:
    search = "/v1/clerk/registrations/search"
    response = await http.post(search, json={}, headers=bearer(tokens.clerk))
    assert_error(response, 422, "invalid_input")
    bad = await http.post(search, json={"snils": "123"}, headers=bearer(tokens.clerk))
    assert_error(bad, 422, "invalid_input")


async def test_support_finds_stuck_registrations_and_acts(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.start()
    stuck = await http.get(
        "/v1/support/stuck",
        params={"hours": 0.0001, "stage": "contact_confirmation"},
        headers=bearer(tokens.support),
    )
    assert stuck.status_code == 200, stuck.text
    for _ in range(50):  # visibility is eventually consistent
        ids = [item["registration_id"] for item in stuck.json()["registrations"]]
        if citizen.id in ids:
            break
        await asyncio.sleep(0.1)
        stuck = await http.get(
            "/v1/support/stuck",
            params={"hours": 0.0001, "stage": "contact_confirmation"},
            headers=bearer(tokens.support),
        )
    assert citizen.id in ids
    cancelled = await http.post(
        f"/v1/support/registrations/{citizen.id}/cancel",
        json={"reason": "duplicate"},
        headers=bearer(tokens.support),
    )
    assert cancelled.json()["stage"] == "cancelled"
    retry = await http.post(
        f"/v1/support/registrations/{citizen.id}/retry-checks",
        json={"reason": "x"},
        headers=bearer(tokens.support),
    )
    assert_error(retry, 409, "already_finished")


async def test_support_extends_a_deadline_and_reads_the_audit_trail(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    support = bearer(tokens.support)
    path = f"/v1/support/registrations/{citizen.id}"
    body = {"reason": "citizen in hospital", "deadline": "letter_code", "days": 7}
    refused = await http.post(f"{path}/extend-deadline", json=body, headers=support)
    assert_error(refused, 409, "no_active_code")
    too_long = await http.post(
        f"{path}/extend-deadline",
        json={**body, "deadline": "verification", "days": 99},
        headers=support,
    )
    assert too_long.status_code in (409, 422), too_long.text
    trail = await http.get(f"{path}/audit", headers=support)
    assert trail.status_code == 200, trail.text
    events = [line["event"] for line in trail.json()["lines"]]
    assert events[0] == "registration_started" and "verified" in events
    assert [line["seq"] for line in trail.json()["lines"]] == list(range(1, len(events) + 1))
    assert trail.json()["next_cursor"] is None
    missing = await http.get("/v1/support/registrations/reg-nobody/audit", headers=support)
    assert_error(missing, 404, "not_found")


async def test_the_audit_trail_comes_in_pages(
    citizen: Citizen, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    await citizen.reach_identity_stage()
    path = f"/v1/support/registrations/{citizen.id}/audit"
    support = bearer(tokens.support)
    whole = (await http.get(path, headers=support)).json()["lines"]
    assert len(whole) > 3
    paged: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(len(whole)):
        page = await http.get(path, params=params, headers=support)
        assert page.status_code == 200, page.text
        assert len(page.json()["lines"]) <= 2
        paged += page.json()["lines"]
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert paged == whole
    bad = await http.get(path, params={"cursor": "not-a-cursor"}, headers=support)
    assert assert_error(bad, 422, "invalid_input")["field"] == "cursor"
    too_many = await http.get(path, params={"limit": 501}, headers=support)
    assert_error(too_many, 422, "invalid_input")


async def test_the_stuck_list_comes_in_pages(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    started = set()
    for _ in range(3):
        citizen = Citizen(http, tokens.portal, outbox)
        await citizen.start()
        started.add(citizen.id)
    support = bearer(tokens.support)
    query: dict[str, Any] = {"hours": 0.0001, "stage": "contact_confirmation", "limit": 2}
    seen: list[str] = []
    for _ in range(50):  # visibility is eventually consistent
        seen, params = [], dict[str, Any](query)
        for _ in range(1000):
            page = await http.get("/v1/support/stuck", params=params, headers=support)
            assert page.status_code == 200, page.text
            assert len(page.json()["registrations"]) <= 2
            seen += [item["registration_id"] for item in page.json()["registrations"]]
            if page.json()["next_cursor"] is None:
                break
            params["cursor"] = page.json()["next_cursor"]
        if started <= set(seen):
            break
        await asyncio.sleep(0.1)
    assert started <= set(seen)
    assert len(seen) == len(set(seen)), "a registration was listed on two pages"
    other = await http.get(
        "/v1/support/stuck",
        params={**query, "hours": 1, "cursor": params.get("cursor", "x")},
        headers=support,
    )
    assert assert_error(other, 422, "invalid_input")["field"] == "cursor"
    payload, _, mac = params["cursor"].partition(".")
    forged = await http.get(
        "/v1/support/stuck",
        params={**query, "cursor": payload[:-2] + "xx." + mac},
        headers=support,
    )
    assert assert_error(forged, 422, "invalid_input")["field"] == "cursor"


async def test_health(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health/live")).json() == {
        "status": "ok",
        "temporal": None,
        "database": None,
    }
    ready = await http.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_a_retried_step_with_the_same_idempotency_key_is_applied_once(
    citizen: Citizen,
) -> None:
    await citizen.start()
    await citizen.outbox.sms_code(citizen.phone)
    headers = citizen.headers() | {"Idempotency-Key": "k-1"}
    path = f"/v1/registrations/{citizen.id}/contact-code"
    first = await citizen.http.post(path, json={"code": "000000"}, headers=headers)
    retried = await citizen.http.post(path, json={"code": "000000"}, headers=headers)
    assert first.json()["attempts_left"] == retried.json()["attempts_left"] == 2
    headers["Idempotency-Key"] = "k-2"
    other = await citizen.http.post(path, json={"code": "000000"}, headers=headers)
    assert other.json()["attempts_left"] == 1
