"""Support staff: find stuck registrations and unblock them. Every action is audited with
the support person's client id."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.bodies import Reason
from api.deps import IdempotencyKey, RegistrationId, RegistrationsDep, ServicesDep, SupportCaller
from api.errors import STEP_RESPONSES
from registration.models import MethodChosen, Stage, StepDone

router = APIRouter(prefix="/v1/support", tags=["support"], responses=STEP_RESPONSES)


class StuckItem(BaseModel):
    registration_id: str
    stage: Stage
    stage_since: datetime
    ui_url: str


class StuckList(BaseModel):
    older_than_hours: float
    registrations: list[StuckItem]


@router.get("/stuck", response_model=StuckList)
async def stuck(
    registrations: RegistrationsDep,
    services: ServicesDep,
    support: SupportCaller,
    hours: float = Query(default=24, gt=0, le=24 * 365),
    stage: Stage | None = None,
) -> StuckList:
    """Running registrations in their current stage for longer than `hours`."""
    settings = services.settings
    base = f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows"
    found = await registrations.stuck(timedelta(hours=hours), stage)
    return StuckList(
        older_than_hours=hours,
        registrations=[
            StuckItem(
                registration_id=item.registration_id,
                stage=item.stage,
                stage_since=item.stage_since,
                ui_url=f"{base}/{item.registration_id}",
            )
            for item in found
        ],
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
