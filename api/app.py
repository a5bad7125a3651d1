"""The HTTP API: the front door for the portal backend, clerks, partners and support.

    uvicorn api.app:app          (or `gosreg api`; configuration from GOSREG_* variables)

OpenAPI at /docs. Start-up does not wait for Temporal or PostgreSQL: while either is down the
API answers 503 with Retry-After and /health/ready says which one. /metrics (not in the OpenAPI
document) is for Prometheus: requests by route template, and the business metrics the API
observes (refusals, limits); README, "Metrics and health".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from api import errors, limits, webhooks
from api.deps import Services
from api.metrics import RequestMetrics
from api.routers import clerks, health, partners, portal, support
from console import install as install_console
from metrics import exposition
from service.limits import Limits
from service.registrations import Registrations
from service.temporal import connect
from service.token_verdicts import TokenVerdicts
from service.tracing import NO_NATIVE_TELEMETRY, Tracing
from settings import Settings, load_settings
from store import access, idempotency
from store.db import make_engine
from store.embedded import database_url

log = logging.getLogger(__name__)


async def prune_hourly(engine: AsyncEngine, settings: Settings) -> None:
    """Forget rate-limit windows of keys nobody hits any more, and idempotency keys past
    their lifetime (every instance may do it)."""
    while True:
        try:
            await access.prune_rate_limits(engine)
            await idempotency.prune(engine, timedelta(hours=settings.idempotency_key_ttl_hours))
        except Exception as error:  # the store may be down; try again next hour
            log.warning("pruning the store failed: %s", type(error).__name__)
        await asyncio.sleep(3600)


TAGS = [
    {
        "name": "portal",
        "description": "The portal backend, acting for a citizen: start, confirm the contact, "
        "set the password and profile, choose and complete the identity confirmation. Every "
        "step after the start presents the citizen's session (`X-Registration-Session`).",
    },
    {
        "name": "clerks",
        "description": "Service-center clerks: find who waits to be confirmed in person and "
        "confirm them, in the name of the clerk's own center (from the token).",
    },
    {
        "name": "partners",
        "description": "The bank integration and the qualified e-signature service confirm "
        "identities.",
    },
    {
        "name": "support",
        "description": "Support staff: stuck registrations, the audit trail, and actions that "
        "unblock a registration (audited with the token's id).",
    },
    {
        "name": "health",
        "description": "Liveness and readiness (Temporal and PostgreSQL); no token needed.",
    },
]


def create_app(settings: Settings | None = None, tracing: Tracing | None = None) -> FastAPI:
    """The API. `tracing` defaults to what the standard OTEL_* variables configure."""
    traced = tracing if tracing is not None else Tracing.from_environment("gosreg-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configured = settings or load_settings()
        configured.check_secrets()  # refuse to start without them, not on a first request
        url = database_url(configured)
        engine = make_engine(url, **configured.pool)
        client = await connect(
            configured,
            lazy=True,
            tracing=traced,
            metrics_host=configured.api_host,
            metrics_port=configured.api_sdk_metrics_port,
        )
        tokens = TokenVerdicts(
            engine,
            configured.token_pepper_bytes,
            url,
            ttl=timedelta(seconds=configured.token_cache_seconds),
        )
        await tokens.start()
        app.state.services = Services(
            settings=configured,
            engine=engine,
            tokens=tokens,
            registrations=Registrations(
                client,
                engine,
                task_queue=configured.temporal_task_queue,
                code_secret=configured.code_secret_bytes,
                policy=configured.policy,
                limits=Limits(engine, configured),
            ),
        )
        pruning = asyncio.create_task(prune_hourly(engine, configured))
        yield
        pruning.cancel()
        await tokens.stop()
        await engine.dispose()
        traced.shutdown()

    app = FastAPI(
        title="Citizen registration API",
        version="1",
        description=(
            "Registration on the state e-services portal, from phone number to confirmed "
            "identity. Every step answers with the registration workflow's verdict. Every "
            "error is RFC 9457 Problem Details (`application/problem+json`, schema `Problem`): "
            "`type` is `https://gosreg.example/problems/<code>`, an identifier per stable "
            "`code`; `detail` (also in `message`) says what happened; invalid input names the "
            "`field` and lists every broken rule in `errors`. 429 and 503 say in `Retry-After` "
            "when to try again. Lists in pages answer with `next_cursor`: send it back as "
            "`cursor` for the next page."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    traced.instrument_app(app)
    webhooks.document(app)
    errors.install(app)
    app.add_middleware(limits.RequestLimits, settings=settings)  # before anything reads
    app.add_middleware(RequestMetrics)  # outermost: counts what the limits refuse too
    # An API route (not a bare Starlette one), so that requests to it carry their route.
    app.add_api_route(exposition.PATH, exposition.metrics, include_in_schema=False)
    for router in (portal.router, clerks.router, partners.router, support.router, health.router):
        app.include_router(router)
    install_console(app)  # the clerks' pages in the browser, at /console
    return app


app = create_app()
