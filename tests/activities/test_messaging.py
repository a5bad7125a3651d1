from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email import EmailClient
from activities.http import HttpClient
from activities.messaging import NOTICES, MessagingActivities
from activities.sms import SmsClient
from registration.activity_messages import Notify, SendContactCode
from registration.codes import Purpose, hash_code
from registration.contact import Channel, Contact
from registration.errors import CONTACT_SEND_LIMIT, DELIVERY_REJECTED, TRANSIENT_FAULT
from registration.journey import Notice
from settings import Settings
from simulators.control import SimulatorControl
from simulators.schemas import OutboxMessage
from store.sends import SendLimit, SendLimits
from tests.data import new_phone

PORTAL = "https://portal.test"


def messaging_with(
    settings: Settings, http: HttpClient, engine: AsyncEngine, limits: SendLimits
) -> MessagingActivities:
    return MessagingActivities(
        SmsClient(settings.party_url("sms_gateway"), http),
        EmailClient(settings.party_url("email_gateway"), http),
        settings.code_secret_bytes,
        PORTAL,
        engine,
        limits,
    )


@pytest.fixture
def messaging(
    settings: Settings, http: HttpClient, store_engine: AsyncEngine
) -> MessagingActivities:
    return messaging_with(settings, http, store_engine, SendLimits.from_settings(settings))


# Codes are counted per contact across tests too (in the session's database): each test
# messages contacts of its own.
@pytest.fixture
def phone() -> Contact:
    return Contact(channel=Channel.SMS, address=new_phone())


@pytest.fixture
def mailbox() -> Contact:
    return Contact(channel=Channel.EMAIL, address=f"maria.{uuid.uuid4().hex[:12]}@example.ru")


def sms_code(message: OutboxMessage) -> str:
    assert message.text is not None
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, message.text
    return found.group(1)


def email_link(message: OutboxMessage) -> str:
    assert message.body is not None
    links: list[str] = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    return links[0]


async def test_sms_code_reaches_the_phone_and_only_its_hash_comes_back(
    settings: Settings,
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    phone: Contact,
) -> None:
    sent = await env.run(
        messaging.send_contact_code,
        SendContactCode(registration_id=registration_id, contact=phone, sequence=1),
    )

    [message] = await control.messages(to=phone.address, kind="sms")
    code = sms_code(message)
    assert message.idempotency_key == f"{registration_id}:contact-code:1"
    assert sent.code_hash == hash_code(
        settings.code_secret_bytes, registration_id, Purpose.SMS, code
    )
    assert code not in sent.model_dump_json()


async def test_retrying_the_same_sequence_sends_one_sms_and_returns_the_same_hash(
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    phone: Contact,
) -> None:
    request = SendContactCode(registration_id=registration_id, contact=phone, sequence=1)

    first = await env.run(messaging.send_contact_code, request)
    again = await env.run(messaging.send_contact_code, request)

    assert again == first
    assert len(await control.messages(to=phone.address)) == 1
    counts = (await control.counts())["sms-gateway"]
    assert (counts.distinct, counts.duplicates) == (1, 1)


async def test_a_new_sequence_sends_a_new_code(
    settings: Settings,
    http: HttpClient,
    store_engine: AsyncEngine,
    env: ActivityEnvironment,
    control: SimulatorControl,
    registration_id: str,
    phone: Contact,
) -> None:
    limits = SendLimits.from_settings(
        settings.model_copy(update={"contact_code_cooldown_seconds": 0})
    )
    messaging = messaging_with(settings, http, store_engine, limits)
    hashes = {
        (
            await env.run(
                messaging.send_contact_code,
                SendContactCode(registration_id=registration_id, contact=phone, sequence=n),
            )
        ).code_hash
        for n in (1, 2)
    }

    messages = await control.messages(to=phone.address)
    assert len(hashes) == 2
    assert len({sms_code(m) for m in messages}) == 2


async def test_email_carries_a_confirmation_link_whose_token_hashes_to_the_result(
    settings: Settings,
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    mailbox: Contact,
) -> None:
    sent = await env.run(
        messaging.send_contact_code,
        SendContactCode(registration_id=registration_id, contact=mailbox, sequence=3),
    )

    [message] = await control.messages(to=mailbox.address, kind="email")
    link = urlsplit(email_link(message))
    query = parse_qs(link.query)
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{PORTAL}/confirm-email"
    assert query["registration"] == [registration_id]
    [token] = query["token"]
    assert sent.code_hash == hash_code(
        settings.code_secret_bytes, registration_id, Purpose.EMAIL, token
    )
    assert message.idempotency_key == f"{registration_id}:contact-code:3"


async def test_neither_code_nor_contact_is_logged(
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    caplog: pytest.LogCaptureFixture,
    phone: Contact,
    mailbox: Contact,
) -> None:
    caplog.set_level(logging.DEBUG)

    for contact in (phone, mailbox):
        await env.run(
            messaging.send_contact_code,
            SendContactCode(registration_id=registration_id, contact=contact, sequence=1),
        )

    sms, email = await control.messages()
    secrets = [sms_code(sms), parse_qs(urlsplit(email_link(email)).query)["token"][0]]
    assert registration_id in caplog.text  # something was logged, so the check means something
    for secret in [*secrets, phone.address, mailbox.address]:
        assert secret not in caplog.text


async def test_unknown_subscriber_is_a_definitive_delivery_rejection(
    env: ActivityEnvironment, messaging: MessagingActivities, registration_id: str
) -> None:
    unknown = Contact(channel=Channel.SMS, address="+79990000000")

    with pytest.raises(ApplicationError) as failure:
        await env.run(
            messaging.send_contact_code,
            SendContactCode(registration_id=registration_id, contact=unknown, sequence=1),
        )

    assert failure.value.type == DELIVERY_REJECTED
    assert failure.value.non_retryable
    assert unknown.address not in str(failure.value)


async def test_gateway_error_is_a_transient_fault_and_the_retry_sends_once(
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    phone: Contact,
) -> None:
    request = SendContactCode(registration_id=registration_id, contact=phone, sequence=1)
    await control.inject_fault("sms-gateway", "error_500")

    with pytest.raises(ApplicationError) as failure:
        await env.run(messaging.send_contact_code, request)
    await env.run(messaging.send_contact_code, request)

    assert failure.value.type == TRANSIENT_FAULT
    assert not failure.value.non_retryable
    assert len(await control.messages(to=phone.address)) == 1


async def test_gateway_timeout_fails_within_the_deadline_and_the_retry_sends_nothing_new(
    settings: Settings,
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    phone: Contact,
) -> None:
    request = SendContactCode(registration_id=registration_id, contact=phone, sequence=1)
    deadline = settings.http_timeout_seconds
    await control.inject_fault("sms-gateway", "timeout", delay_seconds=deadline * 3)

    started = time.monotonic()
    with pytest.raises(ApplicationError) as failure:
        await env.run(messaging.send_contact_code, request)
    elapsed = time.monotonic() - started
    await env.run(messaging.send_contact_code, request)

    assert failure.value.type == TRANSIENT_FAULT
    assert deadline <= elapsed < deadline * 2
    counts = (await control.counts())["sms-gateway"]
    assert (counts.distinct, counts.duplicates) == (1, 1)


async def test_a_new_registration_of_the_contact_sends_nothing_within_the_cooldown(
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    phone: Contact,
) -> None:
    first = f"reg-{uuid.uuid4().hex}-1"
    restarted = f"reg-{uuid.uuid4().hex}-2"
    await env.run(
        messaging.send_contact_code,
        SendContactCode(registration_id=first, contact=phone, sequence=1),
    )

    with pytest.raises(ApplicationError) as failure:
        await env.run(
            messaging.send_contact_code,
            SendContactCode(registration_id=restarted, contact=phone, sequence=1),
        )

    [message] = await control.messages(to=phone.address)
    assert message.idempotency_key == f"{first}:contact-code:1", "the restart sent nothing"
    assert failure.value.type == CONTACT_SEND_LIMIT
    assert failure.value.non_retryable
    [details] = failure.value.details
    assert details["limit"] == SendLimit.CONTACT_COOLDOWN
    retry_at = datetime.fromisoformat(details["retry_at"])
    assert timedelta(seconds=50) < retry_at - datetime.now(UTC) <= timedelta(seconds=60)
    assert phone.address not in str(failure.value)
    assert phone.address[2:] not in repr(failure.value.details)


async def test_the_hourly_cap_spans_registrations_and_e_mail_capitalisation(
    settings: Settings,
    http: HttpClient,
    store_engine: AsyncEngine,
    env: ActivityEnvironment,
    control: SimulatorControl,
    mailbox: Contact,
) -> None:
    limits = SendLimits.from_settings(
        settings.model_copy(update={"contact_code_cooldown_seconds": 0})
    )
    messaging = messaging_with(settings, http, store_engine, limits)
    shouted = mailbox.model_copy(update={"address": mailbox.address.upper()})
    sent = 0
    with pytest.raises(ApplicationError) as failure:
        for attempt in range(1, limits.contact_per_hour + 2):
            contact = shouted if attempt % 2 else mailbox
            await env.run(
                messaging.send_contact_code,
                SendContactCode(
                    registration_id=f"reg-{uuid.uuid4().hex}-{attempt}",
                    contact=contact,
                    sequence=1,
                ),
            )
            sent += 1

    assert sent == limits.contact_per_hour
    assert failure.value.type == CONTACT_SEND_LIMIT
    assert failure.value.details[0]["limit"] == SendLimit.CONTACT_PER_HOUR
    outbox = await control.messages(to=mailbox.address) + await control.messages(to=shouted.address)
    assert len(outbox) == limits.contact_per_hour


@pytest.mark.parametrize("channel", ["phone", "mailbox"])
async def test_notice_is_sent_once_per_key_on_the_contact_channel(
    env: ActivityEnvironment,
    messaging: MessagingActivities,
    control: SimulatorControl,
    registration_id: str,
    channel: str,
    request: pytest.FixtureRequest,
) -> None:
    contact: Contact = request.getfixturevalue(channel)
    notify = Notify(
        registration_id=registration_id,
        contact=contact,
        notice=Notice.CONFIRMED,
        key=f"{registration_id}:notice:confirmed",
    )

    await env.run(messaging.notify_user, notify)
    await env.run(messaging.notify_user, notify)

    [message] = await control.messages(to=contact.address)
    assert message.kind == contact.channel.value
    assert message.idempotency_key == notify.key
    assert NOTICES[Notice.CONFIRMED].body in (message.text or message.body or "")


def test_every_notice_has_a_text() -> None:
    assert set(NOTICES) == set(Notice)
