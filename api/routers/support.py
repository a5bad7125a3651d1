"""Support staff: find stuck registrations and unblock them. Every action is audited with
the support person's client id."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from api import examples
from api.bodies import REASON_EXAMPLES, Reason
from api.deps import (
    IdempotencyKey,
    RegistrationId,
    RegistrationsDep,
    ServicesDep,
    SupportCaller,
    support_role,
)
from api.errors import GUARDED, problems
from registration.models import Deadline, DeadlineExtended, MethodChosen, Stage, StepDone
from service.support import find_stuck

router = APIRouter(prefix="/v1/support", tags=["support"], dependencies=[support_role])

# An action on one registration: unknown (404), or not possible at its stage (409).
ACTION = (*GUARDED, 404, 409)


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


STUCK_EXAMPLE = StuckList(
    older_than_hours=None,
    registrations=[
        StuckItem(
            registration_id=examples.REGISTRATION_ID,
            stage=Stage.VERIFICATION,
            stage_since=examples.AT,
            pending_agencies=["mvd"],
            pending_since=examples.AT,
            attention=None,
            waiting="check_passport: attempt 7, next retry in 40 min (AgencyAnswerPending)",
            ui_url="http://127.0.0.1:8233/namespaces/registrations/workflows/"
            + examples.REGISTRATION_ID,
        )
    ],
)


@router.get(
    "/stuck",
    response_model=StuckList,
    operation_id="listStuckRegistrations",
    responses={**examples.answers(stuck=STUCK_EXAMPLE), **problems(*GUARDED)},
)
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


AUDIT_EXAMPLE = [
    AuditLine(
        seq=1,
        event="registration_started",
        stage=Stage.CONTACT,
        actor="portal:cl_5f2a9c",
        details={"channel": "sms"},
        recorded_at=examples.AT,
    ),
    AuditLine(
        seq=2,
        event="contact_confirmed",
        stage=Stage.PASSWORD,
        actor="citizen",
        details={},
        recorded_at=examples.AT + timedelta(minutes=1),
    ),
]


@router.get(
    "/registrations/{registration_id}/audit",
    response_model=list[AuditLine],
    operation_id="getAuditTrail",
    responses={
        **examples.answers(trail=[examples.dumped(line) for line in AUDIT_EXAMPLE]),
        **problems(*GUARDED, 404),
    },
)
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


@router.post(
    "/registrations/{registration_id}/extend-deadline",
    response_model=DeadlineExtended,
    operation_id="extendDeadline",
    responses={**examples.answers(extended=examples.EXTENDED), **problems(*ACTION)},
)
async def extend_deadline(
    registration_id: RegistrationId,
    body: Annotated[
        Extension,
        Body(
            openapi_examples=examples.bodies(
                letter=(
                    "A week more for the letter's code",
                    {"reason": "citizen in hospital", "deadline": "letter_code", "days": 7},
                )
            )
        ),
    ],
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


@router.post(
    "/registrations/{registration_id}/retry-checks",
    response_model=StepDone,
    operation_id="retryChecks",
    responses={**examples.answers(retried=examples.CHECKS_RETRIED), **problems(*ACTION)},
)
async def retry_checks(
    registration_id: RegistrationId,
    body: Annotated[Reason, REASON_EXAMPLES],
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    return await registrations.retry_checks(
        registration_id, support.actor, body.reason, step_id=idempotency_key
    )


@router.post(
    "/registrations/{registration_id}/resend-letter",
    response_model=MethodChosen,
    operation_id="resendLetter",
    responses={**examples.answers(sent=examples.LETTER_CHOSEN), **problems(*ACTION, 429)},
)
async def resend_letter(
    registration_id: RegistrationId,
    body: Annotated[Reason, REASON_EXAMPLES],
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> MethodChosen:
    return await registrations.resend_letter(
        registration_id, support.actor, body.reason, step_id=idempotency_key
    )


@router.post(
    "/registrations/{registration_id}/cancel",
    response_model=StepDone,
    operation_id="cancelRegistrationBySupport",
    responses={**examples.answers(cancelled=examples.CANCELLED), **problems(*ACTION)},
)
async def cancel(
    registration_id: RegistrationId,
    body: Annotated[Reason, REASON_EXAMPLES],
    registrations: RegistrationsDep,
    support: SupportCaller,
    idempotency_key: IdempotencyKey = None,
) -> StepDone:
    return await registrations.cancel(
        registration_id, support.actor, body.reason, step_id=idempotency_key
    )
