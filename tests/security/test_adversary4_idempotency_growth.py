"""Fourth adversarial pass: any token writes idempotency rows without bound, for nothing.

Actor: the holder of any API token (a leaked bank or e-signature token, a clerk's token, a
leaked portal token), with no registration of its own.

Impact: `api.deps.idempotency_key` remembers every `Idempotency-Key` in `idempotency_keys`
(kept 30 days, `GOSREG_IDEMPOTENCY_KEY_TTL_HOURS`) as soon as the caller is authenticated,
before the route knows whether the registration exists, whether the step is allowed, or
whether a limit refuses it. The scope includes the registration id from the URL, which the
caller chooses freely (any 100-character `[A-Za-z0-9_-]+`). No limit applies to partner or
clerk routes at all, so one token writes one row per request, for 30 days, for registrations
that do not exist, each answered 404. At a few thousand requests a second that is hundreds
of millions of rows a day: the table and its index grow until the database's disk is full,
which stops every registration (the same dependency also runs before the portal's
code-entry limit, so a 429 still leaves its row).

Reproduction: `POST /v1/partners/bank/registrations/reg-nothing-<n>/confirmation` with a new
`Idempotency-Key` each time: 404 each, one new row each.

Suggested fix: remember the key only once the step was handed to the workflow (after the
registration was found and the limits passed), e.g. in `Registrations._update` rather than in
a dependency; or at least only for registrations that exist; and cap keys per client (a rate
limit on keyed requests, or count rows per client scope).
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.idempotency import IdempotencyKeyUse
from tests.api.conftest import Tokens
from tests.citizens import bearer

REQUESTS = 40


async def test_requests_for_registrations_that_do_not_exist_leave_no_idempotency_rows(
    http: httpx.AsyncClient, tokens: Tokens, store_engine: AsyncEngine
) -> None:
    marker = f"reg-adv4-{uuid.uuid4().hex[:12]}"
    body = {
        "surname": "Иванова",
        "name": "Анна",
        "birth_date": "1990-01-01",
        "snils": "112-233-445 95",
        "passport_series": "4510",
        "passport_number": "123456",
    }
    statuses = set()
    for n in range(REQUESTS):
        answer = await http.post(
            f"/v1/partners/bank/registrations/{marker}-{n}/confirmation",
            json=body,
            headers={**bearer(tokens.bank), "Idempotency-Key": uuid.uuid4().hex},
        )
        statuses.add(answer.status_code)
    assert statuses == {404}, statuses
    async with store_engine.connect() as connection:
        rows = await connection.scalar(
            select(func.count())
            .select_from(IdempotencyKeyUse)
            .where(IdempotencyKeyUse.scope.like(f"% {marker}-%"))
        )
    assert rows == 0, (
        f"{REQUESTS} bank confirmations of registrations that do not exist, all refused 404, "
        f"left {rows} idempotency rows, each kept for 30 days"
    )
