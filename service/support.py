"""What support asks of Temporal's visibility: which registrations are stuck, grouped so that
one look says where (stage, agency), and the ready-made filters for the Temporal UI.

Visibility holds only our search attributes (`workflows.search_attributes`), so nothing here
reads or shows personal data. One code path (`stuck_page`) serves `gosreg stuck` and
`GET /v1/support/stuck`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.service import RPCError

from registration.journey import Stage
from workflows import search_attributes as search
from workflows.details import span, when

RPC_TIMEOUT = timedelta(seconds=10)
log = logging.getLogger(__name__)
RUNNING = 'WorkflowType = "Registration" AND ExecutionStatus = "Running"'


@dataclass(frozen=True)
class StuckRule:
    """A registration in `stage` is stuck once `since` (a Datetime attribute) is older than
    `after`. `also` narrows it (e.g. only while an agency is pending)."""

    stage: Stage
    after: timedelta
    since: str = search.STAGE_SINCE.name
    also: str = ""
    meaning: str = ""

    def clause(self, now: datetime, after: timedelta | None = None) -> str:
        cutoff = visibility_time(now - (after if after is not None else self.after))
        text = f'{search.STAGE.name} = "{self.stage.value}" AND {self.since} < "{cutoff}"'
        return f"({text} AND {self.also})" if self.also else f"({text})"


# When a registration has waited longer than anyone should: the waits on people are long
# (they come back when they come back), the waits on systems are short.
STUCK_RULES = (
    StuckRule(
        Stage.CONTACT,
        timedelta(hours=25),
        meaning="past the 24 h contact deadline: its expiry timer did not fire",
    ),
    StuckRule(Stage.PASSWORD, timedelta(days=7), meaning="no password for a week"),
    StuckRule(Stage.PROFILE, timedelta(days=30), meaning="no profile for 30 days"),
    StuckRule(
        Stage.VERIFICATION,
        timedelta(hours=1),
        since=search.PENDING_SINCE.name,
        also=f"{search.PENDING_AGENCY.name} IS NOT NULL",
        meaning="an agency has not answered for an hour",
    ),
    StuckRule(Stage.IDENTITY, timedelta(days=30), meaning="identity unconfirmed for 30 days"),
)


def visibility_time(moment: datetime) -> str:
    """A time as visibility queries take it (RFC 3339, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stuck_query(
    now: datetime,
    older_than: timedelta | None = None,
    stage: Stage | None = None,
    task_queue: str | None = None,
) -> str:
    """Running registrations past their stage's rule (or all past `older_than`), and every
    registration that asks for attention; only those served on `task_queue`, when given (a
    workflow someone started elsewhere under our type, with made-up attributes, is none of
    ours)."""
    rules = [rule for rule in STUCK_RULES if stage is None or rule.stage is stage]
    if stage is not None and not rules:  # a final stage: no rule, and nothing running there
        rules = [StuckRule(stage, older_than or timedelta(0))]
    clauses = [rule.clause(now, older_than) for rule in rules]
    if stage is None:
        clauses.append(f"{search.NEEDS_ATTENTION.name} = true")
    ours = f' AND TaskQueue = "{task_queue}"' if task_queue is not None else ""
    return f"{RUNNING}{ours} AND ({' OR '.join(clauses)})"


@dataclass(frozen=True)
class StuckRegistration:
    registration_id: str
    stage: Stage
    stage_since: datetime
    pending_agencies: list[str] = field(default_factory=list)
    pending_since: datetime | None = None
    attention: str | None = None
    waiting: str | None = None
    """The agency activity's retries in plain words: attempt, next retry, last failure."""


@dataclass(frozen=True)
class StuckPage:
    registrations: list[StuckRegistration]
    """Oldest first within the page."""
    next_page_token: bytes | None
    """Where the next page starts (Temporal's visibility token); None after the last one."""


async def stuck_page(
    client: Client,
    now: datetime,
    *,
    older_than: timedelta | None = None,
    stage: Stage | None = None,
    limit: int = 200,
    page_token: bytes | None = None,
    task_queue: str | None = None,
) -> StuckPage:
    """One page of at most `limit` stuck registrations, in visibility's order, sorted oldest
    first within the page, with their agency retries described. The next page is asked for
    with the same `now`, `older_than` and `stage` and the `next_page_token` of this one (only
    ever one Temporal gave: it takes a forged token for a fault). Only registrations on
    `task_queue`, when given; one whose search attributes are not ours (a stage we do not
    know) is skipped and logged."""
    listing = client.list_workflows(
        stuck_query(now, older_than, stage, task_queue),
        page_size=limit,
        next_page_token=page_token,
        rpc_timeout=RPC_TIMEOUT,
    )
    await listing.fetch_next_page()
    found: list[StuckRegistration] = []
    for execution in listing.current_page or []:
        attributes = execution.typed_search_attributes
        current, entered = attributes.get(search.STAGE), attributes.get(search.STAGE_SINCE)
        if current is None or entered is None:
            continue  # started and not yet published: not stuck yet
        if current not in Stage.__members__.values():
            log.warning("workflow %s has a stage we do not know: skipped", execution.id)
            continue
        pending = list(attributes.get(search.PENDING_AGENCY) or [])
        found.append(
            StuckRegistration(
                registration_id=execution.id,
                stage=Stage(current),
                stage_since=entered,
                pending_agencies=pending,
                pending_since=attributes.get(search.PENDING_SINCE) if pending else None,
                attention=attributes.get(search.ATTENTION),
            )
        )
    waiting = await asyncio.gather(
        *(retries(client, item.registration_id) for item in found if item.pending_agencies)
    )
    described = iter(waiting)
    found = [
        dataclasses.replace(item, waiting=next(described)) if item.pending_agencies else item
        for item in found
    ]
    ordered = sorted(found, key=lambda item: item.pending_since or item.stage_since)
    return StuckPage(ordered, listing.next_page_token)


async def find_stuck(
    client: Client,
    now: datetime | None = None,
    *,
    older_than: timedelta | None = None,
    stage: Stage | None = None,
    limit: int = 200,
    task_queue: str | None = None,
) -> list[StuckRegistration]:
    """The first `limit` stuck registrations (`stuck_page`), oldest first."""
    page = await stuck_page(
        client,
        now or datetime.now(UTC),
        older_than=older_than,
        stage=stage,
        limit=limit,
        task_queue=task_queue,
    )
    return page.registrations


async def retries(client: Client, registration_id: str) -> str | None:
    """`check_passport: attempt 7, next retry in 40 min (AgencyAnswerPending)`, per pending
    activity; None when Temporal cannot say."""
    try:
        description = await client.get_workflow_handle(registration_id).describe(
            rpc_timeout=RPC_TIMEOUT
        )
    except RPCError:
        return None
    now = datetime.now(UTC)
    parts = []
    for pending in description.raw_description.pending_activities:
        text = f"{pending.activity_type.name}: attempt {pending.attempt}"
        if pending.HasField("next_attempt_schedule_time"):
            next_at = pending.next_attempt_schedule_time.ToDatetime(UTC)
            text += f", next retry in {span(next_at - now)}"
        if pending.HasField("last_failure"):
            failure = pending.last_failure.application_failure_info.type
            text += f" ({failure or 'failed'})"
        parts.append(text)
    return "; ".join(parts) or None


def render_report(found: list[StuckRegistration], ui_base: str, now: datetime) -> str:
    """The report `gosreg stuck` prints: by stage, then by agency, each with a UI link."""
    if not found:
        return "No stuck registrations."
    by_stage: dict[str, list[StuckRegistration]] = defaultdict(list)
    for item in found:
        by_stage[item.stage.value].append(item)
    lines = [f"{len(found)} stuck registration(s)"]
    for stage, items in sorted(by_stage.items()):
        lines.append(f"\n{stage}: {len(items)}")
        by_agency: dict[str, list[StuckRegistration]] = defaultdict(list)
        for item in items:
            by_agency[", ".join(item.pending_agencies) or "-"].append(item)
        for agency, group in sorted(by_agency.items()):
            indent = "  "
            if agency != "-":
                lines.append(f"  waiting on {agency}: {len(group)}")
                indent = "    "
            for item in group:
                since = item.pending_since or item.stage_since
                line = f"{indent}{item.registration_id}  since {when(since)} ({span(now - since)})"
                if item.attention:
                    line += f"  attention: {item.attention}"
                if item.waiting:
                    line += f"\n{indent}  {item.waiting}"
                lines.append(f"{line}\n{indent}  {ui_base}/{item.registration_id}")
    return "\n".join(lines)


def ui_filters(now: datetime) -> dict[str, str]:
    """The common questions as visibility queries to paste into the Temporal UI's filter box
    (or `temporal workflow list --query`); times are absolute, so they are computed now."""
    hour_ago = visibility_time(now - timedelta(hours=1))
    two_weeks_ago = visibility_time(now - timedelta(days=14))
    return {
        "Waiting on an agency for more than 1 hour": (
            f"{RUNNING} AND {search.PENDING_AGENCY.name} IS NOT NULL "
            f'AND {search.PENDING_SINCE.name} < "{hour_ago}"'
        ),
        "Waiting on MVD right now": f'{RUNNING} AND {search.PENDING_AGENCY.name} = "mvd"',
        "Needs a person's attention": f"{RUNNING} AND {search.NEEDS_ATTENTION.name} = true",
        "Agency did not answer in time (back at profile)": (
            f'{RUNNING} AND {search.ATTENTION.name} = "verification_timeout"'
        ),
        "Letter ordered more than 14 days ago, identity not confirmed": (
            f'{RUNNING} AND {search.STAGE.name} = "identity_confirmation" '
            f'AND {search.METHOD.name} = "letter" AND {search.STAGE_SINCE.name} < "{two_weeks_ago}"'
        ),
        "Letter sent more than once": f"{search.LETTERS_SENT.name} >= 2",
        "Profile submitted more than once": f"{RUNNING} AND {search.PROFILE_VERSION.name} > 1",
        "Seen at service center mfc-77-001": f'{search.SERVICE_CENTER.name} = "mfc-77-001"',
        "Stuck by the rules of `gosreg stuck`": stuck_query(now),
    }
