"""The simulators' contract, in process (ASGI transport) except where the server itself is
under test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from simulators import ManualClock, SimulatorConfig, create_app
from simulators.esign import make_signed_request
from simulators.server import RunningSimulators

PHONE = "+79161234567"
SNILS = "11223344595"
PERSON = {
    "surname": "Иванова",
    "name": "Мария",
    "patronymic": "Петровна",
    "birth_date": "1990-05-17",
}
PASSPORT = {"passport_series": "4510", "passport_number": "123456"}
ADDRESS = {
    "postcode": "125009",
    "region": "г. Москва",
    "city": "Москва",
    "street": "ул. Тверская",
    "house": "7",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SimulatorConfig(clock=clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://simulators") as client:
        yield client


def sms(key: str = "k-1", to: str = PHONE, text: str = "Код 123456") -> dict[str, str]:
    return {"to": to, "text": text, "idempotency_key": key}


def letter(key: str = "letter-1", **address: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "recipient": "Иванова Мария Петровна",
        "address": ADDRESS | address,
        "body": "Код: 5H09P-TKV2T",
    }


def snils_check(key: str = "r-1", snils: str = SNILS) -> dict[str, str]:
    return {"request_key": key, "snils": snils, **PERSON}


def passport_check(key: str = "r-1", number: str = "123456") -> dict[str, str]:
    return {
        "request_key": key,
        **PASSPORT,
        "passport_number": number,
        "passport_issue_date": "2010-06-01",
        "division_code": "770-001",
        **PERSON,
    }


def inn_request(key: str = "r-1", snils: str = SNILS, **person: str) -> dict[str, str]:
    return {"request_key": key, "snils": snils, **PERSON, **person, **PASSPORT}


def inn_check_digits(first_ten: str) -> str:
    """The FNS rule for a personal INN's 11th and 12th digits."""
    digits = [int(c) for c in first_ten]
    for weights in ((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)):
        digits.append(sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)
    return f"{digits[10]}{digits[11]}"


async def counts(client: httpx.AsyncClient, party: str) -> dict[str, int]:
    response = await client.get("/outbox/counts")
    counted: dict[str, int] = response.json()[party]
    return counted


async def ask(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


async def status(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# --- gateways ------------------------------------------------------------------------------------


async def test_same_idempotency_key_is_one_message(client: httpx.AsyncClient) -> None:
    first = await client.post("/sms-gateway/messages", json=sms())
    again = await client.post("/sms-gateway/messages", json=sms())

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len((await client.get("/outbox/messages")).json()) == 1
    assert await counts(client, "sms-gateway") == {
        "distinct": 1,
        "duplicates": 1,
        "rejected": 0,
        "polls": 0,
        "faults": 0,
    }


async def test_reusing_an_idempotency_key_for_other_content_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/sms-gateway/messages", json=sms())

    reused = await client.post("/sms-gateway/messages", json=sms(text="Код 654321"))

    assert reused.status_code == 409
    [message] = (await client.get("/outbox/messages")).json()
    assert message["text"] == "Код 123456"


async def test_unknown_subscriber_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/sms-gateway/messages", json=sms(to="+79990000000"))

    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "unknown_subscriber"
    assert (await client.get("/outbox/messages")).json() == []


@pytest.mark.parametrize(
    "body",
    [
        sms(to="89161234567"),  # the portal's rule: +7, never a leading 8
        {"to": PHONE, "text": "Код"},
        sms() | {"unexpected": "field"},
    ],
    ids=["leading-8", "no-key", "unknown-field"],
)
async def test_malformed_sms_is_refused_by_validation(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await client.post("/sms-gateway/messages", json=body)

    assert response.status_code == 422


async def test_outbox_filters_messages_by_recipient_and_kind(client: httpx.AsyncClient) -> None:
    await client.post("/sms-gateway/messages", json=sms())
    await client.post("/sms-gateway/messages", json=sms(key="k-2", to="+79169999999"))
    email = {
        "to": "maria@example.ru",
        "subject": "Ссылка",
        "body": "https://x",
        "idempotency_key": "e",
    }
    await client.post("/email-gateway/messages", json=email)

    by_phone = (await client.get("/outbox/messages", params={"to": PHONE})).json()
    emails = (await client.get("/outbox/messages", params={"kind": "email"})).json()

    assert [m["idempotency_key"] for m in by_phone] == ["k-1"]
    assert [(m["to"], m["subject"], m["body"]) for m in emails] == [
        ("maria@example.ru", "Ссылка", "https://x")
    ]


async def test_unknown_mailbox_is_refused(client: httpx.AsyncClient) -> None:
    email = {"to": "nobody@mail.invalid", "subject": "s", "body": "b", "idempotency_key": "e"}

    response = await client.post("/email-gateway/messages", json=email)

    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "unknown_mailbox"


# --- agencies ------------------------------------------------------------------------------------


async def test_agency_answers_only_after_its_delay(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    request_id = await ask(client, "/pension-fund/checks", snils_check())

    before = await status(client, f"/pension-fund/checks/{request_id}")
    clock.advance(SimulatorConfig().pension_fund_delay_seconds)
    after = await status(client, f"/pension-fund/checks/{request_id}")

    assert before == {"request_id": request_id, "status": "pending"}
    assert after == {"request_id": request_id, "status": "done", "matched": True}


async def test_same_request_key_is_the_same_request(client: httpx.AsyncClient) -> None:
    first = await ask(client, "/mvd/checks", passport_check())
    again = await ask(client, "/mvd/checks", passport_check())

    assert first == again
    assert (await counts(client, "mvd"))["duplicates"] == 1


async def test_unknown_request_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/pension-fund/checks/no-such-request")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "answer"),
    [
        pytest.param(
            "/pension-fund/checks",
            snils_check(snils="12345666654"),
            {
                "matched": False,
                "reason_code": "snils_mismatch",
                "reason": "SNILS does not belong to this person",
            },
            id="pension-fund-666",
        ),
        pytest.param(
            "/pension-fund/checks",
            snils_check(snils="123-456-000 18"),  # the printed form is accepted too
            {"matched": True},
            id="pension-fund-printed-snils",
        ),
        pytest.param(
            "/mvd/checks",
            passport_check(number="123666"),
            {
                "matched": False,
                "reason_code": "passport_invalid",
                "reason": "Passport is not valid (reported lost or replaced)",
            },
            id="mvd-666",
        ),
        pytest.param(
            "/fns/inn-requests", inn_request(snils="12345600018"), {"found": False}, id="fns-000"
        ),
    ],
)
async def test_test_data_chooses_the_agency_answer(
    client: httpx.AsyncClient,
    clock: ManualClock,
    path: str,
    body: dict[str, str],
    answer: dict[str, Any],
) -> None:
    request_id = await ask(client, path, body)
    clock.advance(60)

    result = await status(client, f"{path}/{request_id}")

    assert result == {"request_id": request_id, "status": "done", **answer}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/pension-fund/checks", snils_check(snils="12345699972")),
        ("/mvd/checks", passport_check(number="123999")),
    ],
    ids=["pension-fund-999", "mvd-999"],
)
async def test_silent_test_data_never_gets_an_answer(
    client: httpx.AsyncClient, clock: ManualClock, path: str, body: dict[str, str]
) -> None:
    request_id = await ask(client, path, body)
    clock.advance(30 * 24 * 3600)

    assert (await status(client, f"{path}/{request_id}"))["status"] == "pending"


async def test_fns_inn_is_twelve_digits_with_valid_check_digits_and_follows_the_snils(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    first = await ask(client, "/fns/inn-requests", inn_request(key="a"))
    renamed = await ask(client, "/fns/inn-requests", inn_request(key="b", surname="Петрова"))
    other = await ask(client, "/fns/inn-requests", inn_request(key="c", snils="98765432183"))
    clock.advance(SimulatorConfig().fns_delay_seconds)

    inns = [
        (await status(client, f"/fns/inn-requests/{i}"))["inn"] for i in (first, renamed, other)
    ]

    assert inns[0] == inns[1] != inns[2]
    for inn in inns:
        assert len(inn) == 12 and inn.isdigit()
        assert inn[10:] == inn_check_digits(inn[:10])


async def test_answer_delay_can_be_changed_at_run_time(client: httpx.AsyncClient) -> None:
    changed = await client.post("/control/config", json={"mvd_delay_seconds": 0})
    request_id = await ask(client, "/mvd/checks", passport_check())

    assert changed.json()["mvd_delay_seconds"] == 0
    assert (await status(client, f"/mvd/checks/{request_id}"))["status"] == "done"


@pytest.mark.parametrize(
    "changes", [{"mvd_delay": 0}, {"mvd_delay_seconds": -1}], ids=["unknown", "negative"]
)
async def test_invalid_config_change_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, changes: dict[str, float]
) -> None:
    response = await client.post("/control/config", json=changes)

    assert response.status_code == 422
    assert (await client.get("/control/config")).json()["mvd_delay_seconds"] == 2.0


# --- Russian Post --------------------------------------------------------------------------------


async def test_letter_gets_a_russian_post_tracking_number_once_per_key(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.post("/post/letters", json=letter())).json()
    again = (await client.post("/post/letters", json=letter())).json()

    number = first["tracking_number"]
    assert first == again
    assert len(number) == 14 and number.isdigit()
    weighted = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(number[:13]))
    assert int(number[13]) == (10 - weighted % 10) % 10
    [sent] = (await client.get("/outbox/letters")).json()
    assert sent["body"] == "Код: 5H09P-TKV2T"


async def test_letter_status_progresses_with_simulator_time(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await client.post("/post/letters", json=letter())).json()["tracking_number"]
    config = SimulatorConfig()
    ordered_at = clock()

    seen = [(await status(client, f"/post/letters/{number}"))["status"]]
    clock.advance(config.letter_transit_after_seconds)
    seen.append((await status(client, f"/post/letters/{number}"))["status"])
    clock.advance(config.letter_arrival_after_seconds)
    arrived = await status(client, f"/post/letters/{number}")

    assert seen == ["accepted", "in_transit"]
    assert arrived["status"] == "arrived_at_post_office"
    assert arrived["description"] == "Прибыло в место вручения"
    arrival = ordered_at + timedelta(seconds=config.letter_arrival_after_seconds)
    assert datetime.fromisoformat(arrived["updated_at"]) == arrival


async def test_unknown_letter_is_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get("/post/letters/10100001000000")).status_code == 404


async def test_postcode_no_office_serves_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/post/letters", json=letter(postcode="000000"))

    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "unknown_postcode"


# --- e-signature ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sig", "valid", "reason"),
    [
        ("valid", True, None),
        ("revoked", False, "certificate revoked"),
        ("expired", False, "certificate expired"),
        ("forged", False, "signature does not match the signed data"),
    ],
)
async def test_sig_field_chooses_the_verdict(
    client: httpx.AsyncClient, sig: str, valid: bool, reason: str | None
) -> None:
    signed = make_signed_request(
        SNILS, "Иванова", "Мария", "Петровна", sig=sig, challenge="gosreg-identity:reg-1:ab"
    )

    verdict = (
        await client.post("/esignature/verifications", json={"signed_request": signed})
    ).json()

    owner = {"snils": SNILS, "surname": "Иванова", "name": "Мария", "patronymic": "Петровна"}
    assert verdict == {
        "valid": valid,
        "reason": reason,
        "certificate": owner if valid else None,
        "challenge": "gosreg-identity:reg-1:ab" if valid else None,
    }


@pytest.mark.parametrize(
    "signed_request",
    ["not base64 at all!", "e30", make_signed_request(SNILS, "Иванова", "Мария")[:-8]],
    ids=["garbage", "empty-object", "truncated"],
)
async def test_unreadable_signed_request_is_a_bad_request(
    client: httpx.AsyncClient, signed_request: str
) -> None:
    response = await client.post(
        "/esignature/verifications", json={"signed_request": signed_request}
    )

    assert response.status_code == 400
    assert (await counts(client, "esignature"))["rejected"] == 1


# --- faults, clock, reset ------------------------------------------------------------------------


async def test_error_fault_hits_the_next_calls_of_that_party_only(
    client: httpx.AsyncClient,
) -> None:
    await client.post(
        "/control/faults", json={"party": "sms-gateway", "mode": "error_500", "count": 2}
    )

    other_party = await client.post("/post/letters", json=letter())
    failed = [
        (await client.post("/sms-gateway/messages", json=sms())).status_code for _ in range(2)
    ]
    recovered = await client.post("/sms-gateway/messages", json=sms())

    assert other_party.status_code == 200
    assert failed == [500, 500]
    assert recovered.status_code == 200
    assert (await counts(client, "sms-gateway"))["faults"] == 2
    assert (await client.get("/control/faults")).json() == []


async def test_timeout_fault_does_the_work_but_answers_too_late(client: httpx.AsyncClient) -> None:
    await client.post(
        "/control/faults", json={"party": "sms-gateway", "mode": "timeout", "delay_seconds": 5}
    )

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await client.post("/sms-gateway/messages", json=sms())

    assert len((await client.get("/outbox/messages")).json()) == 1


async def test_slow_fault_answers_late_but_answers(client: httpx.AsyncClient) -> None:
    await client.post(
        "/control/faults", json={"party": "sms-gateway", "mode": "slow", "delay_seconds": 0.2}
    )

    started = time.monotonic()
    response = await client.post("/sms-gateway/messages", json=sms())

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_cleared_faults_no_longer_hit(client: httpx.AsyncClient) -> None:
    await client.post("/control/faults", json={"party": "mvd", "mode": "error_500", "count": 5})

    await client.delete("/control/faults")

    assert (await client.post("/mvd/checks", json=passport_check())).status_code == 202


async def test_control_clock_moves_simulator_time(client: httpx.AsyncClient) -> None:
    request_id = await ask(client, "/pension-fund/checks", snils_check())

    await client.post("/control/clock", json={"advance_seconds": 3})

    assert (await status(client, f"/pension-fund/checks/{request_id}"))["status"] == "done"


async def test_reset_forgets_everything_and_restores_the_configuration(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await client.post("/sms-gateway/messages", json=sms())
    await client.post("/post/letters", json=letter())
    await client.post("/control/config", json={"fns_delay_seconds": 60})
    await client.post("/control/faults", json={"party": "fns", "mode": "error_500"})
    await client.post("/control/clock", json={"advance_seconds": 100})

    await client.post("/control/reset")

    assert (await client.get("/outbox/messages")).json() == []
    assert (await client.get("/outbox/letters")).json() == []
    assert (await client.get("/control/faults")).json() == []
    assert (await client.get("/control/config")).json()["fns_delay_seconds"] == 1.0
    assert datetime.fromisoformat((await client.get("/control/clock")).json()["now"]) == clock()
    assert all(not any(c.values()) for c in (await client.get("/outbox/counts")).json().values())
    request_id = await ask(client, "/fns/inn-requests", inn_request())
    assert (await status(client, f"/fns/inn-requests/{request_id}"))["status"] == "pending"


# --- the server ----------------------------------------------------------------------------------


def test_running_simulators_serve_on_a_free_port_and_stop() -> None:
    with RunningSimulators() as running:
        url = running.url
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}

    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")
