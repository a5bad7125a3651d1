"""Webhooks to the portal: each stage change of a registration, as a signed event
(`registration.webhooks`), delivered by an activity that Temporal retries until the portal
takes it (so none is lost; a receiver honouring `webhook-id` applies each once)."""

from __future__ import annotations

import time

from temporalio import activity

from activities.http import HttpClient
from registration import webhooks
from registration.activity_messages import DeliverEvents
from registration.errors import PORTAL_REJECTED


class PortalActivities:
    """Construct once with the HTTP client, the portal's webhook URL and secret (None: the
    portal takes no webhooks, and events are dropped)."""

    def __init__(self, http: HttpClient, url: str | None, secret: str | None) -> None:
        self._http = http
        self._url = url
        self._key = webhooks.secret_key(secret) if url is not None and secret else None

    @activity.defn(name="deliver_portal_events")
    async def deliver_events(self, request: DeliverEvents) -> None:
        """POST each event, in order. A retry sends them all again under their ids."""
        if self._url is None or self._key is None:
            activity.logger.warning(
                "no portal webhook configured: %d event(s) dropped", len(request.events)
            )
            return
        for event in request.events:
            content = webhooks.body(event)
            await self._http.request(
                "POST",
                self._url,
                party="portal",
                rejected_type=PORTAL_REJECTED,
                content=content,
                headers=webhooks.headers(self._key, event.id, int(time.time()), content),
            )
        activity.logger.info("delivered %d event(s) to the portal", len(request.events))
