"""Support staff: find stuck registrations and unblock them. Every action is audited with
the support person's client id."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.bodies import Reason
from api.deps import (
    IdempotencyKey,
    RegistrationId,
    RegistrationsDep,
    ServicesDep,
    SupportCaller,
    support_role,
)
from api.errors import STEP_RESPONSES
from registration.models import Deadline, DeadlineExtended, MethodChosen, Stage, StepDone
from service.support import find_stuck

router = APIRouter(
    prefix="/v1/support", tags=["support"], responses=STEP_RESPONSES, dependencies=[support_role]
)


class StuckItem(BaseModel):
    registration_id: str
    stage: Stage
    stage_since: datetime
    pending_agencies: list[str]
    pending_since: datetime | None
    attention: str | None
    waiting: str | None = Field(description="The agency retries: attempt, next retry")
    ui_url: str


class StuckList(BaseModel):
    older_than_hours: float | None = Field(
        description="The threshold asked for; null: each stage's own rule (service.support)"
    )
    registrations: list[StuckItem]


@router.get("/stuck", response_model=StuckList)
async def stuck(
    registrations: RegistrationsDep,
    services: ServicesDep,
    hours: float | None = Query(default=None, gt=0, le=24 * 365),
    stage: Stage | None = None,
) -> StuckList:
    """Running registrations stuck by their stage's rule (an agency silent for an hour, a
    letter unconfirmed for 30 days, ...) or, with `hours`, in their stage for that long; and
    those that ask for a person's attention. Oldest first."""
    settings = services.settings
    base = f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows"
    found = await find_stuck(
        registrations.client,
        datetime.now(UTC),
        older_than=timedelta(hours=hours) if hours is not None else None,
        stage=stage,
    )
    return StuckList(
        older_than_hours=hours,
        registrations=[
            StuckItem(**dataclasses.asdict(item), ui_url=f"{base}/{item.registration_id}")
            for item in found
        ],
    )


class Extension(Reason):
    deadline: Deadline
    days: int = Field(description="1 to 30 by default (Policy.max_deadline_extension)")


class AuditLine(BaseModel):
    seq: int
    event: str
    stage: Stage
    actor: str
    details: dict[str, Any]
    recorded_at: datetime


@router.get("/registrations/{registration_id}/audit", response_model=list[AuditLine])
async def audit_trail(
    registration_id: RegistrationId, registrations: RegistrationsDep
) -> list[AuditLine]:
    """Everything that happened to the registration and who did it, in order."""
    trail = await registrations.audit_trail(registration_id)
    return [
        AuditLine(
            seq=line.seq,
            event=line.event,
            stage=line.stage,
            actor=line.actor,
            details=line.details,
            recorded_at=line.recorded_at,
        )
        for line in trail
    ]


@router.post("/registrations/{registration_id}/extend-deadline", response_model=DeadlineExtended)
async def extend_deadline(
    registration_id: RegistrationId,
    body: Extension,
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> DeadlineExtended:
    """Give the agencies (asked again at once) or the letter's code more days."""
    return await registrations.extend_deadline(
        registration_id,
        support.actor,
        body.reason,
        body.deadline,
        body.days,
        step_id=idempotency_key,
    )


@router.post("/registrations/{registration_id}/retry-checks", response_model=StepDone)
async def retry_checks(
    registration_id: RegistrationId,
    body: Reason,
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    return await registrations.retry_checks(
        registration_id, support.actor, body.reason, step_id=idempotency_key
    )


@router.post("/registrations/{registration_id}/resend-letter", response_model=MethodChosen)
async def resend_letter(
    registration_id: RegistrationId,
    body: Reason,
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> MethodChosen:
    return await registrations.resend_letter(
        registration_id, support.actor, body.reason, step_id=idempotency_key
    )


@router.post("/registrations/{registration_id}/cancel", response_model=StepDone)
async def cancel(
    registration_id: RegistrationId,
    body: Reason,
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    return await registrations.cancel(
        registration_id, support.actor, body.reason, step_id=idempotency_key
    )
