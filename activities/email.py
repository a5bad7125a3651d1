"""The e-mail gateway: sends a message to an address, once per idempotency key."""

from __future__ import annotations

from pydantic import BaseModel

from activities.http import MessageAccepted, PartyClient
from registration.errors import DELIVERY_REJECTED


class EmailMessage(BaseModel):
    to: str
    subject: str
    body: str
    idempotency_key: str


class EmailClient(PartyClient):
    party = "e-mail gateway"
    rejected_type = DELIVERY_REJECTED

    async def send(self, to: str, subject: str, body: str, idempotency_key: str) -> str:
        """Send (or, for a key seen before, re-confirm) a message; returns the gateway's id.
        An unavailable mailbox is a non-retryable DELIVERY_REJECTED."""
        message = EmailMessage(to=to, subject=subject, body=body, idempotency_key=idempotency_key)
        return (await self._post("/messages", message, MessageAccepted)).message_id
