"""The journey's business metrics, in Prometheus's conventions: `gosreg_` names with their
unit, `_total` on counters, and labels that are enumerations of ours (a stage, a channel, an
agency, a refusal code…). No label ever holds personal data or a registration id: a value
outside its enumeration is counted as `other`.

Where each number is observed, and why there:
- steps of the journey (started, levels, confirmed, ended, letters, refusals of a
  confirmation, failed verifications): from the audit line of each step, in the worker, when
  the store applies it (`activities.store`). The store applies a step once whatever Temporal
  retries, so each is counted once;
- the agencies' answers and attempts: by the agency activities, per attempt;
- limits: where they refuse (the API's `service.limits`, the worker's code sends);
- refusals of citizen steps: where the API answers them (`api.errors`);
- codec requests: by the codec server, per caller;
- registrations per stage, waiting on an agency, stuck, needing attention, letters in flight:
  gauges counted in Temporal's visibility on a slow schedule, by the worker
  (`service.gauges`);
- time spent in each stage: by the workflow itself, through the SDK's metric meter
  (`metrics.sdk.STAGE_DURATION`), exported by the SDK's exporter.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from registration.activity_messages import AuditEntry
from registration.contact import Channel
from registration.errors import ConfirmationRefusal, Refusal
from registration.journey import (
    Agency,
    ConfirmationMethod,
    Level,
    Origin,
    RejectionCode,
    Stage,
)

OTHER = "other"
"""The label value of anything outside its enumeration."""

STARTED = Counter(
    "gosreg_registrations_started_total",
    "Registrations started, by contact channel and origin (portal or service-center counter).",
    ["channel", "origin"],
)
REACHED_LEVEL = Counter(
    "gosreg_registrations_reached_level_total",
    "Accounts that reached a level (simplified, standard, confirmed).",
    ["level"],
)
CONFIRMED = Counter(
    "gosreg_registrations_confirmed_total",
    "Identities confirmed, by method.",
    ["method"],
)
ENDED = Counter(
    "gosreg_registrations_ended_total",
    "Registrations ended, by outcome (confirmed, cancelled, expired, refused).",
    ["outcome"],
)
VERIFICATIONS_FAILED = Counter(
    "gosreg_verifications_failed_total",
    "Profiles the agencies did not confirm, by agency and reason (mismatch, "
    "verification_timeout, request_rejected).",
    ["agency", "reason"],
)
CONFIRMATION_REFUSALS = Counter(
    "gosreg_confirmation_refusals_total",
    "Identity confirmations refused (clerk, bank, e-signature), by reason.",
    ["reason"],
)
LETTERS_ORDERED = Counter(
    "gosreg_letters_ordered_total",
    "Registered letters ordered from the post (re-orders and support's re-sends included).",
)
LETTER_CODES_EXPIRED = Counter(
    "gosreg_letter_codes_expired_total",
    "Registered letters whose code expired unused.",
)

AGENCY_ATTEMPTS = Counter(
    "gosreg_agency_attempts_total",
    "Requests to an agency, by agency and outcome: answered, pending (no answer yet, asked "
    "again later) or failed (unreachable, refused, broken answer).",
    ["agency", "outcome"],
)
AGENCY_ANSWER_SECONDS = Histogram(
    "gosreg_agency_answer_seconds",
    "Time from asking an agency to its answer, by agency and answer (match, mismatch, found, "
    "not_found).",
    ["agency", "outcome"],
    buckets=(1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 10 * 86400),
)
AGENCY_ANSWER_ATTEMPTS = Histogram(
    "gosreg_agency_answer_attempts",
    "Attempts an agency's answer took, by agency.",
    ["agency"],
    buckets=(1, 2, 3, 5, 10, 20, 50, 100, 200),
)

RATE_LIMIT_HITS = Counter(
    "gosreg_rate_limit_hits_total",
    "Steps refused by a limit across registrations, by limit (e.g. start_per_contact, "
    "code_per_ip, send_contact_per_hour).",
    ["limit"],
)
STEP_REFUSALS = Counter(
    "gosreg_step_refusals_total",
    "Citizen, clerk, partner and support steps the API refused, by refusal code.",
    ["code"],
)
CODEC_REQUESTS = Counter(
    "gosreg_codec_requests_total",
    "Codec server requests, by operation (decode, encode), caller's client id and outcome "
    "(ok, refused).",
    ["operation", "client", "outcome"],
)

RUNNING = Gauge(
    "gosreg_registrations_running",
    "Running registrations per stage (Temporal visibility, counted by the worker).",
    ["stage"],
)
AWAITING_AGENCY = Gauge(
    "gosreg_registrations_awaiting_agency",
    "Running registrations waiting for an agency's answer, by agency.",
    ["agency"],
)
AWAITING_AGENCY_OVER_AN_HOUR = Gauge(
    "gosreg_registrations_awaiting_agency_over_an_hour",
    "Running registrations waiting for an agency's answer for more than an hour, by agency.",
    ["agency"],
)
STUCK = Gauge(
    "gosreg_registrations_stuck",
    "Running registrations past their stage's stuck rule (as `gosreg stuck`), by stage.",
    ["stage"],
)
NEEDING_ATTENTION = Gauge(
    "gosreg_registrations_needing_attention",
    "Running registrations that ask for a person's look, by reason.",
    ["attention"],
)
LETTERS_IN_FLIGHT = Gauge(
    "gosreg_letters_in_flight",
    "Registrations at identity confirmation with a registered letter on its way (ordered, "
    "code not expired).",
)
GAUGES_REFRESHED = Gauge(
    "gosreg_stage_gauges_refreshed_timestamp_seconds",
    "When the gauges above were last counted (Unix time).",
)


def known(enumeration: type[StrEnum], value: Any) -> str:
    """`value` as a label: itself when it is one of `enumeration`, else `other`."""
    try:
        return enumeration(value).value
    except ValueError:
        return OTHER


_LEVEL_OF_EVENT = {
    "password_set": Level.SIMPLIFIED,
    "account_opened": Level.SIMPLIFIED,  # at a counter: the account comes before a password
    "verified": Level.STANDARD,
    "identity_confirmed": Level.CONFIRMED,
}


def observe_step(entry: AuditEntry) -> None:
    """Count what an audited step says happened. Call it once per step: when the store
    applied it."""
    details = entry.details
    level = _LEVEL_OF_EVENT.get(entry.event)
    if level is not None:
        REACHED_LEVEL.labels(level=level.value).inc()
    match entry.event:
        case "registration_started":
            STARTED.labels(
                channel=known(Channel, details.get("channel")),
                origin=known(Origin, details.get("origin", Origin.PORTAL)),
            ).inc()
        case "identity_confirmed":
            CONFIRMED.labels(method=known(ConfirmationMethod, details.get("method"))).inc()
            ENDED.labels(outcome=Stage.CONFIRMED.value).inc()
        case "verification_failed":
            # An agency's own reason code is passed on as it came: counted as a mismatch.
            reason = known(RejectionCode, details.get("reason"))
            VERIFICATIONS_FAILED.labels(
                agency=known(Agency, details.get("agency")),
                reason=RejectionCode.MISMATCH.value if reason == OTHER else reason,
            ).inc()
        case "confirmation_refused":
            CONFIRMATION_REFUSALS.labels(
                reason=known(ConfirmationRefusal, details.get("reason"))
            ).inc()
        case "letter_ordered":
            LETTERS_ORDERED.inc()
        case "letter_code_expired":
            LETTER_CODES_EXPIRED.inc()


def registration_ended(outcome: Stage) -> None:
    """A registration closed as cancelled, expired or refused (the store applied it)."""
    ENDED.labels(outcome=known(Stage, outcome)).inc()


def step_refused(code: Refusal) -> None:
    STEP_REFUSALS.labels(code=known(Refusal, code)).inc()


def rate_limit_hit(limit: str) -> None:
    """A limit refused a step; `limit` names the limit (`action_per_scope`), never a key."""
    RATE_LIMIT_HITS.labels(limit=limit).inc()


def agency_attempt(agency: Agency, outcome: str) -> None:
    AGENCY_ATTEMPTS.labels(agency=agency.value, outcome=outcome).inc()


def agency_answered(agency: Agency, outcome: str, seconds: float, attempts: int) -> None:
    AGENCY_ATTEMPTS.labels(agency=agency.value, outcome="answered").inc()
    AGENCY_ANSWER_SECONDS.labels(agency=agency.value, outcome=outcome).observe(seconds)
    AGENCY_ANSWER_ATTEMPTS.labels(agency=agency.value).observe(attempts)


def codec_request(operation: str, client_id: str, outcome: str) -> None:
    CODEC_REQUESTS.labels(operation=operation, client=client_id, outcome=outcome).inc()
