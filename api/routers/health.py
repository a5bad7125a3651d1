"""Liveness (the process answers) and readiness (Temporal and PostgreSQL answer)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from api import examples
from api.deps import ServicesDep
from api.errors import LIMITS, RETRY_AFTER_HEADER, problems
from service import health

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: str
    temporal: str | None = None
    database: str | None = None


@router.get(
    "/live",
    response_model=Health,
    operation_id="checkLiveness",
    responses={**examples.answers(live={"status": "ok"}), **problems(*LIMITS)},
)
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    operation_id="checkReadiness",
    responses={
        **examples.answers(ready={"status": "ok", "temporal": "ok", "database": "ok"}),
        503: {
            "model": Health,
            "description": "Temporal or PostgreSQL is unreachable",
            "headers": {"Retry-After": RETRY_AFTER_HEADER["Retry-After"]},
            "content": {
                "application/json": {
                    "example": {
                        "status": "unavailable",
                        "temporal": "unreachable",
                        "database": "ok",
                    }
                }
            },
        },
        **problems(*LIMITS),
    },
)
async def ready(services: ServicesDep, response: Response) -> Health:
    temporal, database = await asyncio.gather(
        health.temporal_status(services.registrations.client),
        health.database_status(services.engine),
    )
    ok = temporal == health.OK and database == health.OK
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "5"
    return Health(status="ok" if ok else "unavailable", temporal=temporal, database=database)
