"""Second adversarial pass: probes that found nothing, kept as regression guards."""

from __future__ import annotations

import uuid

import httpx

from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer


async def _email_registration(http: httpx.AsyncClient, portal: str) -> tuple[str, str, str]:
    address = f"guard.{uuid.uuid4().hex[:8]}@example.ru"
    started = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "email": address},
        headers=bearer(portal),
    )
    assert started.status_code == 201, started.text
    return started.json()["registration_id"], started.json()["session"], address


async def test_a_consumed_e_mail_link_opens_no_second_session(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl
) -> None:
    """The link's token, opened once, is spent: a second POST (a mail scanner, a forwarded
    mail, the browser history) gets no session and revokes nobody."""
    rid, _, address = await _email_registration(http, fresh_portal)
    token = await outbox.email_token(address)
    link = f"/v1/registrations/{rid}/email-link"
    first = await http.post(link, json={"token": token}, headers=bearer(fresh_portal))
    assert first.json()["verdict"]["accepted"] is True, first.text
    owner = first.json()["session"]
    again = await http.post(link, json={"token": token}, headers=bearer(fresh_portal))
    assert again.status_code in (409, 200), again.text
    assert again.status_code == 409 or again.json()["session"] is None
    still = await http.get(
        f"/v1/registrations/{rid}",
        headers=bearer(fresh_portal) | {"X-Registration-Session": owner},
    )
    assert still.status_code == 200 and still.json()["stage"] == "password", still.text


async def test_an_e_mail_link_through_another_portal_token_gives_a_session_only_it_can_use(
    http: httpx.AsyncClient, tokens: Tokens, fresh_portal: str, outbox: SimulatorControl
) -> None:
    """Sessions are bound to the portal token that opened them: a session answered to one
    portal is a 404 through another."""
    rid, _, address = await _email_registration(http, tokens.portal)
    token = await outbox.email_token(address)
    opened = await http.post(
        f"/v1/registrations/{rid}/email-link", json={"token": token}, headers=bearer(fresh_portal)
    )
    session = opened.json()["session"]
    assert session
    elsewhere = await http.get(
        f"/v1/registrations/{rid}",
        headers=bearer(tokens.portal) | {"X-Registration-Session": session},
    )
    assert elsewhere.status_code == 404, elsewhere.text


async def test_odd_citizen_inputs_are_never_a_server_error(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl
) -> None:
    rid, session, _ = await _email_registration(http, fresh_portal)
    sms = Citizen(http, fresh_portal, outbox)
    assert (await sms.start()).status_code == 201
    tokens_tried = ["", " ", "é" * 26, "\u0000" * 26, "0" * 64, "-" * 26]
    for token in tokens_tried:
        for target in (rid, sms.id, "reg-unknown-1", "x" * 200):
            answer = await http.post(
                f"/v1/registrations/{target}/email-link",
                json={"token": token},
                headers=bearer(fresh_portal),
            )
            assert answer.status_code < 500, (target, token, answer.text)
    for code in ["", "١٢٣٤٥٦", "12 34 56", "\u0000" * 6, "9" * 64]:
        answer = await sms.call("POST", "/contact-code", {"code": code})
        assert answer.status_code < 500, (code, answer.text)
    for header in ["grs_" + "é" * 43, "grs_" + "=" * 43, session + "x"]:
        answer = await http.get(
            f"/v1/registrations/{rid}",
            headers=[
                (name.encode(), value.encode())
                for name, value in (
                    bearer(fresh_portal) | {"X-Registration-Session": header}
                ).items()
            ],
        )
        assert answer.status_code < 500, (header, answer.text)
    for address in ["fe80::1%eth0", "::ffff:1.2.3.4%1", "300.1.1.1", "1.2.3.4, 5.6.7.8"]:
        answer = await http.post(
            f"/v1/registrations/{sms.id}/contact-code",
            json={"code": "000000"},
            headers=sms.headers() | {"X-Citizen-IP": address},
        )
        assert answer.status_code < 500, (address, answer.text)
