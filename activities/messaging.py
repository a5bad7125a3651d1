"""Messages to the citizen: contact-confirmation codes and notices, by SMS or e-mail.

A code is derived, never stored: a retried `send_contact_code` derives the same code and uses
the same idempotency key, so the gateway sends one message however often Temporal retries.
Only the code's keyed hash leaves this module; the code is never returned or logged.

Every code send is first claimed against the contact's budgets in the store (`store.sends`),
which span all its registrations: a spent budget is a non-retryable CONTACT_SEND_LIMIT and no
message goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.email import EmailClient
from activities.sms import SmsClient
from activities.store import _database_fault
from metrics import journey
from registration.activity_messages import Notify, SendContactCode, SendPasswordLink, SentCode
from registration.codes import Purpose, contact_key, derive_code, hash_code, range_key
from registration.contact import Channel, Contact
from registration.errors import CONTACT_SEND_LIMIT
from registration.journey import Notice
from store.password_links import save_link
from store.sends import SendLimits, claim_send


@dataclass(frozen=True)
class Text:
    subject: str
    """E-mail subject; SMS has none."""
    body: str


def sms_code_text(code: str) -> str:
    return f"Госуслуги: код подтверждения {code}. Никому не сообщайте его."


def password_link_text(link: str, valid_for: timedelta) -> Text:
    hours = int(valid_for.total_seconds() // 3600)
    return Text(
        subject="Учётная запись подтверждена: задайте пароль",
        body=(
            "Госуслуги: ваша учётная запись подтверждена в центре обслуживания. "
            f"Задайте пароль по ссылке (действует {hours} ч): {link}"
        ),
    )


def email_confirmation(link: str) -> Text:
    return Text(
        subject="Подтверждение адреса электронной почты",
        body=(
            "Здравствуйте!\n\n"
            "Чтобы подтвердить адрес электронной почты для регистрации на портале Госуслуг, "
            f"перейдите по ссылке:\n{link}\n\n"
            "Ссылка одноразовая. Если вы не регистрировались на портале, "
            "просто проигнорируйте это письмо."
        ),
    )


NOTICES: dict[Notice, Text] = {
    Notice.STANDARD_GRANTED: Text(
        subject="Данные профиля проверены",
        body=(
            "Госуслуги: данные профиля проверены, у вас стандартная учётная запись. "
            "Чтобы получить доступ ко всем услугам, подтвердите личность."
        ),
    ),
    Notice.VERIFICATION_FAILED: Text(
        subject="Данные профиля не прошли проверку",
        body=(
            "Госуслуги: данные профиля не прошли проверку. "
            "Проверьте их в личном кабинете, исправьте и отправьте снова."
        ),
    ),
    Notice.LETTER_REMINDER: Text(
        subject="Код подтверждения личности ждёт вас",
        body=(
            "Госуслуги: не забудьте ввести код подтверждения личности из заказного письма. "
            "Если письмо не пришло, закажите новое в личном кабинете."
        ),
    ),
    Notice.CONFIRMED: Text(
        subject="Учётная запись подтверждена",
        body="Госуслуги: ваша учётная запись подтверждена. Вам доступны все услуги портала.",
    ),
}


class MessagingActivities:
    """Activities that message the citizen; construct once with the gateway clients, the
    one-time-code secret, the portal's public URL (for e-mail confirmation links), and the
    store and budgets that count codes per contact."""

    def __init__(
        self,
        sms: SmsClient,
        email: EmailClient,
        code_secret: bytes,
        portal_url: str,
        engine: AsyncEngine,
        limits: SendLimits,
    ) -> None:
        self._sms = sms
        self._email = email
        self._secret = code_secret
        self._portal_url = portal_url.rstrip("/")
        self._engine = engine
        self._limits = limits

    @activity.defn(name="send_contact_code")
    async def send_contact_code(self, request: SendContactCode) -> SentCode:
        """Send code number `sequence` to the contact: the code by SMS, or a confirmation link
        by e-mail. Returns only the code's keyed hash. An unknown number or mailbox is a
        non-retryable DELIVERY_REJECTED; a spent budget of the contact is a non-retryable
        CONTACT_SEND_LIMIT, and then nothing is sent."""
        registration_id = request.registration_id
        await self._claim(request)
        purpose = Purpose.SMS if request.contact.channel == Channel.SMS else Purpose.EMAIL
        code = derive_code(self._secret, registration_id, purpose, request.sequence)
        key = f"{registration_id}:contact-code:{request.sequence}"
        await self._send(request.contact, self._code_text(registration_id, purpose, code), key)
        activity.logger.info(
            "Sent contact code %s of registration %s by %s",
            request.sequence,
            registration_id,
            request.contact.channel,
        )
        return SentCode(code_hash=hash_code(self._secret, registration_id, purpose, code))

    @activity.defn(name="notify_user")
    async def notify_user(self, notify: Notify) -> None:
        """Tell the citizen `notify.notice` on their contact channel, once per `notify.key`."""
        await self._send(notify.contact, NOTICES[notify.notice], notify.key)
        activity.logger.info(
            "Sent notice %s of registration %s", notify.notice, notify.registration_id
        )

    @activity.defn(name="send_password_link")
    async def send_password_link(self, request: SendPasswordLink) -> None:
        """Send link number `sequence` to set the password of an account made at a counter.
        The link's token is derived, like a code, and only its keyed hash is stored; a retry
        stores nothing new and sends the same message (same idempotency key)."""
        registration_id, purpose = request.registration_id, Purpose.PASSWORD
        token = derive_code(self._secret, registration_id, purpose, request.sequence)
        try:
            await save_link(
                self._engine,
                registration_id,
                request.sequence,
                hash_code(self._secret, registration_id, purpose, token),
                request.valid_for,
            )
        except SQLAlchemyError as error:
            raise _database_fault(error) from None
        query = urlencode({"registration": registration_id, "token": token})
        text = password_link_text(f"{self._portal_url}/set-password?{query}", request.valid_for)
        key = f"{registration_id}:password-link:{request.sequence}"
        await self._send(request.contact, text, key)
        activity.logger.info(
            "Sent password link %s of registration %s", request.sequence, registration_id
        )

    async def _claim(self, request: SendContactCode) -> None:
        contact = request.contact
        try:
            decision = await claim_send(
                self._engine,
                request.registration_id,
                request.sequence,
                contact_key(self._secret, contact),
                range_key(self._secret, contact),
                self._limits,
            )
        except SQLAlchemyError as error:
            raise _database_fault(error) from None
        if decision.allowed:
            return
        assert decision.limit is not None and decision.retry_at is not None
        journey.rate_limit_hit(f"send_{decision.limit.value}")
        activity.logger.info(
            "Contact code %s of registration %s not sent: %s reached until %s",
            request.sequence,
            request.registration_id,
            decision.limit,
            decision.retry_at.isoformat(),
        )
        raise ApplicationError(
            f"Contact code not sent: the contact's {decision.limit} budget is spent",
            {"retry_at": decision.retry_at.isoformat(), "limit": decision.limit.value},
            type=CONTACT_SEND_LIMIT,
            non_retryable=True,
        )

    def _code_text(self, registration_id: str, purpose: Purpose, code: str) -> Text:
        if purpose is Purpose.SMS:
            return Text(subject="Код подтверждения", body=sms_code_text(code))
        query = urlencode({"registration": registration_id, "token": code})
        return email_confirmation(f"{self._portal_url}/confirm-email?{query}")

    async def _send(self, contact: Contact, text: Text, key: str) -> None:
        if contact.channel == Channel.SMS:
            await self._sms.send(contact.address, text.body, key)
        else:
            await self._email.send(contact.address, text.subject, text.body, key)
