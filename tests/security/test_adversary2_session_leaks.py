"""Second adversarial pass: what a session that proved nothing still learns or leaves behind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from settings import Settings
from simulators.control import SimulatorControl
from store.schema import RegistrationSession
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.journeys import age_code_sends
from tests.security.conftest import ApiWith


async def test_a_joining_session_s_wrong_code_does_not_tell_the_registration_s_stage(
    api_with: ApiWith,
    fresh_portal: str,
    outbox: SimulatorControl,
    store_engine: AsyncEngine,
    stack_settings: Settings,
    tokens: Tokens,
) -> None:
    """Actor: someone who knows only the phone number (through any portal token).

    Impact: docs/security.md promises that a start for a running registration "sees only a
    contact stage of its own ... no method, profile or rejection", and `session_state` hides
    the progress. But the verdict of a wrong code entered through the joining session is
    built by `_judge_contact_code` with `stage=state.stage`: the registration's real stage.
    So anyone who knows a phone number learns that someone has already proved it (stage
    `password`) although docs/security.md says whether a registration is in progress is
    not told by the status or the body. (Low: once the password is set a start answers 409
    anyway.) The same verdict comes back from `POST …/email-link` without any session.

    Suggested fix: a verdict to a session that is not the owner (and every e-mail-link
    verdict that is not accepted) says `stage: contact_confirmation`, as `claim_view` does;
    or the service maps the verdict through the session's view before answering.
    """
    policy = stack_settings.policy.model_copy(update={"resend_cooldown": timedelta(seconds=1)})
    async with api_with(policy=policy) as http:
        victim = Citizen(http, tokens.portal, outbox)
        assert (await victim.start()).status_code == 201
        # The contact is confirmed, the password not yet set (after it, a start is 409
        # `already_finished`, as ESIA says an account exists).
        assert (await victim.confirm_contact()).json()["stage"] == "password"
        await age_code_sends(store_engine, victim.phone, timedelta(hours=1))
        await asyncio.sleep(1.1)

        stranger = Citizen(http, fresh_portal, outbox, phone=victim.phone)
        started = await stranger.start(surname="Злоумышленников")
        assert started.status_code == 201
        assert started.json()["state"]["stage"] == "contact_confirmation"
        fresh = await outbox.sms_code(victim.phone)
        wrong = "000000" if fresh != "000000" else "111111"
        verdict = await stranger.call("POST", "/contact-code", {"code": wrong})
        assert verdict.status_code == 200, verdict.text
        assert verdict.json()["accepted"] is False
        assert verdict.json()["stage"] == "contact_confirmation", (
            "a session that proved nothing learnt the registration's real stage from a wrong "
            f"code's verdict: {verdict.json()}"
        )


async def test_e_mail_link_attempts_over_the_limit_open_no_sessions(
    http: httpx.AsyncClient, fresh_portal: str, store_engine: AsyncEngine
) -> None:
    """Actor: a leaked portal token (or the portal itself driven by a script), no session.

    Impact: `Registrations.confirm_email_link` opens a new session row
    (`registration_sessions`) *before* `submit_contact_code` counts the entry against the
    limits. A request refused `429 rate_limited` (or `409 no_active_code` once the link's 3
    attempts are spent) still leaves a row, never proven, never revoked, never pruned. Each
    request through the token grows the table by one row, at the speed of the API, for any
    e-mail registration id it knows: unbounded growth of a table driven by an attacker.

    Suggested fix: count the entry (and check the channel and that a code is active) before
    opening the session, and open it only when the token is right (inside the workflow's
    bind, or by binding a session created lazily on acceptance); prune unproven sessions of
    closed registrations.
    """
    address = f"probe.{uuid.uuid4().hex[:8]}@example.ru"
    started = await http.post(
        "/v1/registrations",
        json={"surname": "Иванова", "name": "Мария", "email": address},
        headers=bearer(fresh_portal),
    )
    assert started.status_code == 201, started.text
    rid = started.json()["registration_id"]

    statuses = []
    for _ in range(25):
        answer = await http.post(
            f"/v1/registrations/{rid}/email-link",
            json={"token": "X" * 26},
            headers=bearer(fresh_portal),
        )
        statuses.append(answer.status_code)
    assert 429 in statuses, statuses
    judged = sum(1 for status in statuses if status == 200)

    async with store_engine.connect() as connection:
        rows = await connection.scalar(
            select(func.count())
            .select_from(RegistrationSession)
            .where(RegistrationSession.registration_id == rid)
        )
    assert rows is not None and rows <= 1 + judged, (
        f"{rows} sessions for one registration after 25 refused e-mail-link requests "
        f"({judged} judged, answers {statuses}): every request leaves a row"
    )
