"""The SMS gateway: sends a text to a `+7XXXXXXXXXX` number, once per idempotency key."""

from __future__ import annotations

from pydantic import BaseModel

from activities.http import MessageAccepted, PartyClient
from registration.errors import DELIVERY_REJECTED


class SmsMessage(BaseModel):
    to: str
    text: str
    idempotency_key: str


class SmsClient(PartyClient):
    party = "SMS gateway"
    rejected_type = DELIVERY_REJECTED

    async def send(self, to: str, text: str, idempotency_key: str) -> str:
        """Send (or, for a key seen before, re-confirm) a message; returns the gateway's id.
        An unknown subscriber is a non-retryable DELIVERY_REJECTED."""
        message = SmsMessage(to=to, text=text, idempotency_key=idempotency_key)
        return (await self._post("/messages", message, MessageAccepted)).message_id
