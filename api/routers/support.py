"""Support staff: find stuck registrations and unblock them. Every action is audited with
the support person's client id."""

from __future__ import annotations

import base64
import binascii
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
from api.pagination import CursorParam, Cursors, CursorsDep, invalid_cursor
from registration.journey import Deadline, Stage
from registration.messages import DeadlineExtended, MethodChosen, StepDone
from service.support import stuck_page

router = APIRouter(prefix="/v1/support", tags=["support"], dependencies=[support_role])

# An action on one registration: unknown (404), or not possible at its stage (409).
ACTION = (*GUARDED, 404, 409)
STUCK_PAGE_MAX = 200
AUDIT_PAGE_MAX = 500


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
    next_cursor: str | None = Field(
        description="Send it as `cursor` (with the same `hours` and `stage`) for the next "
        "page; null after the last page."
    )


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
    next_cursor=None,
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
    cursors: CursorsDep,
    hours: float | None = Query(default=None, gt=0, le=24 * 365),
    stage: Stage | None = None,
    limit: int = Query(default=100, ge=1, le=STUCK_PAGE_MAX, description="Page size"),
    cursor: CursorParam = None,
) -> StuckList:
    """Running registrations stuck by their stage's rule (an agency silent for an hour, a
    letter unconfirmed for 30 days, ...) or, with `hours`, in their stage for that long; and
    those that ask for a person's attention. In pages of `limit`, oldest first within a page;
    every page is cut at the moment the first one was asked for."""
    now, page_token = datetime.now(UTC), None
    if cursor is not None:
        position = cursors.decode(cursor)
        if position.get("hours") != hours or position.get("stage") != stage:
            raise invalid_cursor("The cursor belongs to a list with other `hours` or `stage`")
        now, page_token = _stuck_position(position)
    page = await stuck_page(
        registrations.client,
        now,
        older_than=timedelta(hours=hours) if hours is not None else None,
        stage=stage,
        limit=limit,
        page_token=page_token,
        task_queue=services.settings.temporal_task_queue,
    )
    settings = services.settings
    base = settings.support_workflows_url
    next_cursor = None
    if page.next_page_token is not None:
        next_cursor = cursors.encode(
            {
                "now": now.isoformat(),
                "hours": hours,
                "stage": stage,
                "token": base64.urlsafe_b64encode(page.next_page_token).decode(),
            }
        )
    return StuckList(
        older_than_hours=hours,
        registrations=[
            StuckItem(**dataclasses.asdict(item), ui_url=f"{base}/{item.registration_id}")
            for item in page.registrations
        ],
        next_cursor=next_cursor,
    )


def _stuck_position(position: dict[str, Any]) -> tuple[datetime, bytes]:
    """The moment the list was cut at, and Temporal's token for the next page."""
    try:
        now = datetime.fromisoformat(position["now"])
        token = base64.urlsafe_b64decode(position["token"])
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise invalid_cursor() from error
    if now.tzinfo is None:
        raise invalid_cursor()
    return now, token


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


class AuditTrail(BaseModel):
    registration_id: str
    lines: list[AuditLine] = Field(description="In order (`seq`)")
    next_cursor: str | None = Field(
        description="Send it as `cursor` for the next page; null after the last page."
    )


AUDIT_EXAMPLE = AuditTrail(
    registration_id=examples.REGISTRATION_ID,
    lines=[
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
    ],
    next_cursor=Cursors(b"example").encode({"after": 2}),
)


@router.get(
    "/registrations/{registration_id}/audit",
    response_model=AuditTrail,
    operation_id="getAuditTrail",
    responses={**examples.answers(trail=AUDIT_EXAMPLE), **problems(*GUARDED, 404)},
)
async def audit_trail(
    registration_id: RegistrationId,
    registrations: RegistrationsDep,
    cursors: CursorsDep,
    limit: int = Query(default=100, ge=1, le=AUDIT_PAGE_MAX, description="Page size"),
    cursor: CursorParam = None,
) -> AuditTrail:
    """Everything that happened to the registration and who did it, in order, in pages."""
    after = 0
    if cursor is not None:
        position = cursors.decode(cursor).get("after")
        if type(position) is not int or position < 0:
            raise invalid_cursor()
        after = position
    trail = await registrations.audit_trail(registration_id, after_seq=after, limit=limit + 1)
    page = trail[:limit]
    return AuditTrail(
        registration_id=registration_id,
        lines=[
            AuditLine(
                seq=line.seq,
                event=line.event,
                stage=line.stage,
                actor=line.actor,
                details=line.details,
                recorded_at=line.recorded_at,
            )
            for line in page
        ],
        next_cursor=cursors.encode({"after": page[-1].seq}) if len(trail) > limit else None,
    )


class Explained(BaseModel):
    registration_id: str
    story: str = Field(
        description="The registration's life in plain words: stages with when and how long, "
        "agencies' requests and answers, letters, who did what, refused steps, and what it "
        "waits for now"
    )
    revealed: bool = Field(description="Whether the story names the person (audited)")


@router.get(
    "/registrations/{registration_id}/explain",
    response_model=Explained,
    operation_id="explainRegistration",
    responses={
        **examples.answers(
            told={
                "registration_id": examples.REGISTRATION_ID,
                "story": f"Registration {examples.REGISTRATION_ID}\n  started 2026-11-20 "
                "10:02:11 UTC by the portal, contact by sms; 1 run(s) of its workflow\n\n"
                "Stages\n  contact_confirmation     2026-11-20 10:02:11 UTC, 40 s\n…",
                "revealed": False,
            }
        ),
        **problems(*GUARDED, 404),
    },
)
async def explain_registration(
    registration_id: RegistrationId,
    registrations: RegistrationsDep,
    support: SupportCaller,
    reveal: bool = Query(
        default=False,
        description="Name the person (name and contact); the request is audited with the "
        "support token's id",
    ),
) -> Explained:
    """A registration's whole life, read from its workflow history across every run. Personal
    data is masked unless `reveal` is asked for."""
    story = await registrations.explain(registration_id, actor=support.actor, reveal=reveal)
    return Explained(
        registration_id=registration_id,
        story=story.render(datetime.now(UTC)),
        revealed=reveal,
    )


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
