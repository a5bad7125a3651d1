from __future__ import annotations

import re

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.esignature import ESignatureClient, SignatureActivities
from activities.http import HttpClient
from activities.post import PostActivities, PostClient
from registration.activity_messages import OrderLetter, SignatureCheck, TrackLetter, VerifySignature
from registration.address import PostalAddress
from registration.codes import Purpose, hash_code
from registration.errors import DELIVERY_REJECTED, TRANSIENT_FAULT
from settings import Settings
from simulators import ManualClock
from simulators.control import SimulatorControl
from simulators.esign import make_signed_request

ADDRESS = PostalAddress(
    postcode="125009",
    region="г. Москва",
    city="Москва",
    street="ул. Тверская",
    house="7",
    apartment="12",
)
RECIPIENT = "Иванова Мария Петровна"
LETTER_CODE = re.compile(r"\b([0-9A-Z]{5}-[0-9A-Z]{5})\b")


@pytest.fixture
def post(settings: Settings, http: HttpClient) -> PostActivities:
    return PostActivities(PostClient(settings.party_url("post"), http), settings.code_secret_bytes)


@pytest.fixture
def signatures(settings: Settings, http: HttpClient) -> SignatureActivities:
    return SignatureActivities(ESignatureClient(settings.party_url("esignature"), http))


def order(registration_id: str, sequence: int = 1, **changes: object) -> OrderLetter:
    fields = {
        "registration_id": registration_id,
        "sequence": sequence,
        "recipient": RECIPIENT,
        "address": ADDRESS,
    }
    return OrderLetter.model_validate(fields | changes)


async def test_letter_carries_a_readable_code_whose_hash_is_returned(
    settings: Settings,
    env: ActivityEnvironment,
    post: PostActivities,
    control: SimulatorControl,
    registration_id: str,
) -> None:
    ordered = await env.run(post.order_letter, order(registration_id))

    [letter] = await control.letters(tracking_number=ordered.tracking_number)
    found = LETTER_CODE.search(letter.body)
    assert found, letter.body
    code = found.group(1)
    assert letter.tracking_number == ordered.tracking_number
    assert letter.idempotency_key == f"{registration_id}:letter:1"
    assert ordered.code_hash == hash_code(
        settings.code_secret_bytes, registration_id, Purpose.LETTER, code
    )
    assert code.replace("-", "") not in ordered.model_dump_json()


async def test_retrying_an_order_sends_no_second_letter(
    env: ActivityEnvironment, post: PostActivities, control: SimulatorControl, registration_id: str
) -> None:
    first = await env.run(post.order_letter, order(registration_id))
    again = await env.run(post.order_letter, order(registration_id))

    assert again == first
    assert len(await control.letters()) == 1
    counts = (await control.counts())["post"]
    assert (counts.distinct, counts.duplicates) == (1, 1)


async def test_a_new_order_is_a_new_letter_with_a_new_code(
    env: ActivityEnvironment, post: PostActivities, control: SimulatorControl, registration_id: str
) -> None:
    first = await env.run(post.order_letter, order(registration_id, sequence=1))
    second = await env.run(post.order_letter, order(registration_id, sequence=2))

    assert first.tracking_number != second.tracking_number
    assert first.code_hash != second.code_hash
    assert len(await control.letters()) == 2


async def test_tracking_follows_the_letter_to_the_post_office(
    env: ActivityEnvironment,
    post: PostActivities,
    control: SimulatorControl,
    clock: ManualClock,
    registration_id: str,
) -> None:
    timings = await control.configure(
        letter_transit_after_seconds=24 * 3600, letter_arrival_after_seconds=4 * 24 * 3600
    )
    ordered = await env.run(post.order_letter, order(registration_id))
    track = TrackLetter(tracking_number=ordered.tracking_number)

    statuses = [(await env.run(post.track_letter, track)).status]
    clock.advance(timings.letter_transit_after_seconds)
    statuses.append((await env.run(post.track_letter, track)).status)
    clock.advance(timings.letter_arrival_after_seconds - timings.letter_transit_after_seconds)
    arrived = await env.run(post.track_letter, track)
    statuses.append(arrived.status)

    assert statuses == ["accepted", "in_transit", "arrived_at_post_office"]
    assert arrived.updated_at == clock()
    assert arrived.description


async def test_tracking_an_unknown_letter_answers_not_found(
    env: ActivityEnvironment, post: PostActivities
) -> None:
    status = await env.run(post.track_letter, TrackLetter(tracking_number="10100001000000"))

    assert status.status == "not_found"


async def test_address_the_post_cannot_serve_is_a_definitive_delivery_rejection(
    env: ActivityEnvironment, post: PostActivities, registration_id: str
) -> None:
    nowhere = ADDRESS.model_copy(update={"postcode": "000000"})

    with pytest.raises(ApplicationError) as failure:
        await env.run(post.order_letter, order(registration_id, address=nowhere))

    assert failure.value.type == DELIVERY_REJECTED
    assert failure.value.non_retryable


async def test_post_outage_is_a_transient_fault(
    env: ActivityEnvironment, post: PostActivities, control: SimulatorControl, registration_id: str
) -> None:
    await control.inject_fault("post", "error_500")

    with pytest.raises(ApplicationError) as failure:
        await env.run(post.order_letter, order(registration_id))

    assert failure.value.type == TRANSIENT_FAULT
    assert await control.letters() == []


async def test_valid_signature_names_the_certificate_owner_and_what_was_signed(
    env: ActivityEnvironment, signatures: SignatureActivities, registration_id: str
) -> None:
    challenge = f"gosreg-identity:{registration_id}:0f"
    signed = make_signed_request("11223344595", "Иванова", "Мария", "Петровна", challenge=challenge)

    verdict = await env.run(
        signatures.verify_signature,
        VerifySignature(registration_id=registration_id, signed_request=signed),
    )

    assert verdict == SignatureCheck(
        valid=True,
        snils="11223344595",
        surname="Иванова",
        name="Мария",
        patronymic="Петровна",
        challenge=challenge,
    )


@pytest.mark.parametrize(
    ("signed_request", "reason"),
    [
        (
            make_signed_request("11223344595", "Иванова", "Мария", sig="revoked"),
            "certificate revoked",
        ),
        (
            make_signed_request("11223344595", "Иванова", "Мария", sig="expired"),
            "certificate expired",
        ),
        ("this is not a signature", "signature is malformed"),
    ],
    ids=["revoked", "expired", "malformed"],
)
async def test_unusable_signature_is_an_answer_with_its_reason(
    env: ActivityEnvironment,
    signatures: SignatureActivities,
    registration_id: str,
    signed_request: str,
    reason: str,
) -> None:
    verdict = await env.run(
        signatures.verify_signature,
        VerifySignature(registration_id=registration_id, signed_request=signed_request),
    )

    assert verdict == SignatureCheck(valid=False, reason=reason)
