"""Messages to the citizen: contact-confirmation codes and notices, by SMS or e-mail.

A code is derived, never stored: a retried `send_contact_code` derives the same code and uses
the same idempotency key, so the gateway sends one message however often Temporal retries.
Only the code's keyed hash leaves this module; the code is never returned or logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from temporalio import activity

from activities.email import EmailClient
from activities.sms import SmsClient
from registration.codes import Purpose, derive_code, hash_code
from registration.models import Channel, Contact, Notice, Notify, SendContactCode, SentCode


@dataclass(frozen=True)
class Text:
    subject: str
    """E-mail subject; SMS has none."""
    body: str


def sms_code_text(code: str) -> str:
    return f"Госуслуги: код подтверждения {code}. Никому не сообщайте его."


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
    one-time-code secret and the portal's public URL (for e-mail confirmation links)."""

    def __init__(
        self, sms: SmsClient, email: EmailClient, code_secret: bytes, portal_url: str
    ) -> None:
        self._sms = sms
        self._email = email
        self._secret = code_secret
        self._portal_url = portal_url.rstrip("/")

    @activity.defn(name="send_contact_code")
    async def send_contact_code(self, request: SendContactCode) -> SentCode:
        """Send code number `sequence` to the contact: the code by SMS, or a confirmation link
        by e-mail. Returns only the code's keyed hash. An unknown number or mailbox is a
        non-retryable DELIVERY_REJECTED."""
        registration_id = request.registration_id
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
