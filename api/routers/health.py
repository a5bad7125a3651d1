"""Liveness (the process answers) and readiness (Temporal and PostgreSQL answer)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy import text

from api import examples
from api.deps import ServicesDep
from api.errors import LIMITS, RETRY_AFTER_HEADER, problems

router = APIRouter(prefix="/health", tags=["health"])
log = logging.getLogger(__name__)

CHECK_DEADLINE = 3.0


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
    temporal, database = await asyncio.gather(_temporal(services), _database(services))
    ok = temporal == "ok" and database == "ok"
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "5"
    return Health(status="ok" if ok else "unavailable", temporal=temporal, database=database)


async def _temporal(services: ServicesDep) -> str:
    try:
        async with asyncio.timeout(CHECK_DEADLINE):
            healthy = await services.registrations.client.service_client.check_health()
        return "ok" if healthy else "unhealthy"
    except Exception as error:  # any failure means "not ready"; say which kind, not more
        log.info("readiness: Temporal %s", type(error).__name__)
        return "unreachable"


async def _database(services: ServicesDep) -> str:
    try:
        async with asyncio.timeout(CHECK_DEADLINE), services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:
        log.info("readiness: PostgreSQL %s", type(error).__name__)
        return "unreachable"
