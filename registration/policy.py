"""The journey's numbers: every limit, window and deadline, with its source.

A registration carries its `Policy` in its own input (and across continue-as-new), so a
configuration change applies to new registrations and never rewrites the rules for one that
is already running. Defaults come from DOMAIN.md; operators override them via `settings`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict


class Policy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Contact confirmation. Code validity: seeds 002/004. The rest: Login.gov, Keycloak.
    sms_code_ttl: timedelta = timedelta(seconds=300)
    email_link_ttl: timedelta = timedelta(hours=24)
    attempts_per_code: int = 3
    failures_before_lock: int = 10
    lock_duration: timedelta = timedelta(minutes=10)
    resend_cooldown: timedelta = timedelta(seconds=60)
    resends_per_hour: int = 5
    resends_per_day: int = 20
    contact_deadline: timedelta = timedelta(hours=24)

    # Automatic verification: "from several minutes to 10 calendar days" (seeds 000-004).
    agency_attempt_timeout: timedelta = timedelta(seconds=30)
    agency_initial_backoff: timedelta = timedelta(seconds=10)
    agency_max_backoff: timedelta = timedelta(hours=1)
    verification_deadline: timedelta = timedelta(days=10)
    # INN is nice to have (it does not block `standard`), so FNS gets a shorter leash.
    inn_deadline: timedelta = timedelta(days=1)
    max_deadline_extension: timedelta = timedelta(days=30)  # one support extension, at most

    # Registered letter: up to 30 days (seeds 000/003/004); limits from Login.gov.
    letter_code_ttl: timedelta = timedelta(days=30)
    letter_reorder_gap: timedelta = timedelta(hours=24)
    letter_orders_per_window: int = 4
    letter_order_window: timedelta = timedelta(days=30)
    letter_reminder_after: timedelta = timedelta(days=14)
    letter_tracking_interval: timedelta = timedelta(hours=12)
    letter_wrong_codes_before_lock: int = 5
    letter_wrong_code_window: timedelta = timedelta(minutes=10)
    letter_lock_duration: timedelta = timedelta(minutes=10)

    # Clerk, bank and e-signature confirmations: a few refusals, then a lock and a person's look,
    # so that partners cannot probe the profile field by field.
    confirmation_attempts: int = 5
    confirmation_lock: timedelta = timedelta(hours=24)

    # Registration at a counter: the citizen sets the password through a one-time link.
    password_link_ttl: timedelta = timedelta(hours=72)

    # Webhooks: each stage change is sent to the portal as a signed event (configured by
    # `GOSREG_PORTAL_WEBHOOK_URL`; registrations started without it send none).
    portal_events: bool = False

    # History stays bounded: continue-as-new when the server suggests it or at this length.
    max_history_events: int = 10_000
