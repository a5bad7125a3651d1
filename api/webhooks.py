"""The events the portal receives by webhook, in the OpenAPI document's `webhooks` section
(OpenAPI 3.1). Sent by the worker (`activities.portal`), signed as `registration.webhooks` says;
documented here so the portal's developers see them beside the API they call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

from registration.journey import ConfirmationMethod, Level, Stage


class StageChangedData(BaseModel):
    registration_id: str
    stage: Stage = Field(description="The stage the registration has just entered")
    level: Level
    method: ConfirmationMethod | None = Field(
        default=None, description="How the identity was (or is to be) confirmed, once chosen"
    )


class StageChanged(BaseModel):
    type: Literal["registration.stage_changed"]
    timestamp: datetime = Field(description="When the registration entered the stage")
    data: StageChangedData


def document(app: FastAPI) -> None:
    @app.webhooks.post("registration.stage_changed")
    def registration_stage_changed(
        body: StageChanged,
        webhook_id: Annotated[
            str,
            Header(
                description="The event's id, the same on every retry: apply an id once "
                "(e.g. `reg-…-1/3`, the registration's third event)"
            ),
        ],
        webhook_timestamp: Annotated[
            str, Header(description="Unix seconds of this delivery attempt")
        ],
        webhook_signature: Annotated[
            str,
            Header(
                description="`v1,` and base64(HMAC-SHA256(secret, `<webhook-id>.<webhook-"
                "timestamp>.<body>`)), the secret being the base64 part of "
                "`GOSREG_PORTAL_WEBHOOK_SECRET` (`whsec_…`). Refuse a delivery whose signature "
                "does not match or whose timestamp is more than 5 minutes off"
            ),
        ],
    ) -> None:
        """A registration entered a new stage, including its outcome (`confirmed`,
        `cancelled`, `expired`, `refused`). Sent to `GOSREG_PORTAL_WEBHOOK_URL` as a POST, in
        the order the changes happened, following the Standard Webhooks specification. Answer
        2xx once stored; any 5xx, 408, 429 or no answer within the deadline is retried (at
        most every 10 minutes, without end), so none is lost; another 4xx is taken as a
        refusal and support is asked to look. No personal data is sent: the portal reads the
        registration's state (`GET /v1/registrations/{registration_id}`) if it needs more."""
