"""Russian Post: registered letters carrying the identity-confirmation code, and their tracking.

The letter code is derived from the registration and the order's sequence, and the letter's
idempotency key is built from the same pair: a retried `order_letter` sends no second letter
and reports the same code hash.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from activities.http import PartyClient
from registration.activity_messages import LetterOrdered, LetterStatus, OrderLetter, TrackLetter
from registration.address import PostalAddress
from registration.codes import Purpose, derive_code, hash_code
from registration.errors import DELIVERY_REJECTED

NOT_FOUND = LetterStatus(
    status="not_found", description="Отправление ещё не появилось в системе отслеживания"
)


class Letter(BaseModel):
    idempotency_key: str
    recipient: str
    address: PostalAddress
    body: str


class LetterAccepted(BaseModel):
    tracking_number: str


class Tracking(BaseModel):
    status: str
    description: str
    updated_at: datetime | None = None


class PostClient(PartyClient):
    party = "Russian Post"
    rejected_type = DELIVERY_REJECTED

    async def send_letter(
        self, idempotency_key: str, recipient: str, address: PostalAddress, body: str
    ) -> str:
        """Post a registered letter once per key; returns its 14-digit tracking number. An
        address the post cannot serve is a non-retryable DELIVERY_REJECTED."""
        letter = Letter(
            idempotency_key=idempotency_key, recipient=recipient, address=address, body=body
        )
        return (await self._post("/letters", letter, LetterAccepted)).tracking_number

    async def track(self, tracking_number: str) -> Tracking | None:
        """Where the letter is; None when the post does not know the number (yet)."""
        response = await self._send("GET", f"/letters/{tracking_number}", answers={404})
        return None if response.status_code == 404 else self._read(response, Tracking)


def format_letter_code(code: str) -> str:
    """Groups of five for reading off paper: "5H09PTKV2T" → "5H09P-TKV2T" (the portal ignores
    the hyphen when the citizen types it back)."""
    return "-".join(code[i : i + 5] for i in range(0, len(code), 5))


def letter_body(code: str) -> str:
    return (
        "Код подтверждения личности для портала Госуслуг:\n\n"
        f"    {format_letter_code(code)}\n\n"
        "Войдите в личный кабинет на портале и введите код в разделе «Подтверждение личности». "
        "Никому не сообщайте этот код."
    )


class PostActivities:
    """Activities for the registered letter; construct once with the post client and the
    one-time-code secret."""

    def __init__(self, post: PostClient, code_secret: bytes) -> None:
        self._post = post
        self._secret = code_secret

    @activity.defn(name="order_letter")
    async def order_letter(self, order: OrderLetter) -> LetterOrdered:
        """Send letter number `sequence` with its code; returns the tracking number and the
        code's keyed hash, never the code."""
        code = derive_code(self._secret, order.registration_id, Purpose.LETTER, order.sequence)
        tracking_number = await self._post.send_letter(
            f"{order.registration_id}:letter:{order.sequence}",
            order.recipient,
            order.address,
            letter_body(code),
        )
        activity.logger.info(
            "Ordered letter %s of registration %s", order.sequence, order.registration_id
        )
        return LetterOrdered(
            tracking_number=tracking_number,
            code_hash=hash_code(self._secret, order.registration_id, Purpose.LETTER, code),
        )

    @activity.defn(name="track_letter")
    async def track_letter(self, track: TrackLetter) -> LetterStatus:
        """The letter's tracking status; `not_found` while the post does not know it."""
        tracking = await self._post.track(track.tracking_number)
        if tracking is None:
            return NOT_FOUND
        return LetterStatus.model_validate(tracking.model_dump())
