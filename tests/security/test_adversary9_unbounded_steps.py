"""Ninth adversarial pass: a citizen grows the audit trail, the idempotency tables and the
workflow's history without bound by choosing a confirmation method again and again.

Actor: any citizen who owns a registration (their own phone and code suffice), or whoever holds
a leaked portal token and registers one phone.

Impact: docs/security.md promises that "no caller can grow the table with requests that did
nothing", and counts every limit that spans registrations; but a step that IS applied has no
limit when it can be taken again and again. `choose_method` for `in_person`, `bank` or
`esignature` is accepted at the identity stage as often as it is sent (only a letter has
`letters.check_order`): every call writes an audit line (`method_chosen`), upserts search
attributes, adds workflow-history events (so more continue-as-new runs), and with an
`Idempotency-Key` keeps an `idempotency_keys` row and a `step_outcomes` row for 30 days, and
an update id in the run's handed-on header (`gosreg-spent-updates`, which carries every id of
the last 10 minutes: at a few hundred steps a second it outgrows Temporal's 2 MB blob limit
and the continue-as-new itself fails). One scripted session writes millions of rows a day into
the shared store.

Suggested fix: bound repeatable citizen steps per registration (e.g. method changes: at most
N per hour, `429 rate_limited` with `Retry-After`, counted in the validator or in
`service.limits`), make choosing the method already chosen a no-op that writes nothing, and cap
what a run hands on (refuse updates, rather than carry more ids than fit).
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from simulators.control import SimulatorControl
from store import repository
from tests.citizens import Citizen

CHANGES = 60
ALLOWED = 20  # far more than any person changes their mind within a minute


async def test_method_changes_are_bounded(
    http: httpx.AsyncClient,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    accepted = 0
    statuses: dict[int, int] = {}
    for i in range(CHANGES):
        method = ("in_person", "bank")[i % 2]
        answer = await citizen.call(
            "PUT",
            "/confirmation-method",
            {"method": method},
            Idempotency_Key=str(uuid.uuid4()),
        )
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        accepted += answer.status_code == 200
    trail = await repository.list_audit(store_engine, citizen.id)
    chosen = sum(1 for line in trail if line.event == "method_chosen")
    assert accepted <= ALLOWED, (
        f"{accepted} of {CHANGES} method changes in a row were applied ({statuses}); the trail "
        f"now holds {chosen} method_chosen lines: a citizen grows the store without bound"
    )


RESUBMISSIONS = 12
PROFILE_CAP = 10  # a person correcting typos needs a handful, not dozens, a day


async def test_profile_resubmissions_to_the_agencies_are_bounded(
    http: httpx.AsyncClient,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
) -> None:
    """The same hole with an external cost: a profile the MVD refuses sends the registration
    back to the profile stage, and a new profile is sent to the Pension Fund, the MVD and FNS
    again, as often as the citizen submits it: one session makes the service query three state
    agencies in a loop (and each round e-mails/SMSes a "verification failed" notice). Fix: count
    profile submissions per registration (and per person across registrations) and refuse
    with `429` past a daily cap."""
    from registration.journey import Stage
    from tests.data import PROFILE

    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    assert (await citizen.set_password()).status_code == 200
    refused = PROFILE.model_copy(update={"passport_number": "345666"})  # the MVD says no
    sent = 0
    for _ in range(RESUBMISSIONS):
        answer = await citizen.call("PUT", "/profile", refused.model_dump(mode="json"))
        if answer.status_code != 200:
            break
        sent += 1
        await citizen.wait_for(Stage.PROFILE)
    trail = await repository.list_audit(store_engine, citizen.id)
    submitted = sum(1 for line in trail if line.event == "profile_submitted")
    assert sent <= PROFILE_CAP, (
        f"{sent} profiles in a row went to the agencies (trail: {submitted} profile_submitted "
        "lines): no limit on resubmission"
    )
