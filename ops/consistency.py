"""`gosreg check`: does the account store agree with Temporal about every registration?

    gosreg check                        every registration; exit status 1 on any mismatch
    gosreg check reg-… reg-…            only these
    gosreg check --json                 the same, for machines
    gosreg check --close-orphans --actor support:cl_… --reason "terminated by hand in the UI"

A registration lives in two places: its workflow in Temporal says where the journey is; its
row, account and audit trail in PostgreSQL are what the portal, clerks and other services
read. The workflow writes the store in idempotent steps, a moment after it decides, so the two
may differ for that moment, or for as long as the store is down — or for good, when something
went wrong: a workflow terminated by hand, a store restored from an old backup, a bug. The
check reports every lasting difference, per registration, by kind (`Kind`).

A difference seen once is read again after `settle` seconds, from Temporal's description of
the execution instead of its visibility listing (which may lag); only what is still there is
reported. Reports name registration ids, stages, levels and statuses: no personal data.

`--close-orphans` closes the store rows of registrations whose workflow ended abnormally
(terminated, failed, timed out), as cancelled, audited with the actor and reason given; until
then, the contact's next start is refused ("the previous registration ended abnormally").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from registration.journey import Level, Stage
from service.temporal import connect
from settings import load_settings
from store import repository
from store.db import make_engine
from store.embedded import database_url
from store.repository import RegistrationSummary
from store.schema import RegistrationStatus
from workflows import search_attributes as search

RPC_TIMEOUT = timedelta(seconds=10)
GRACE = timedelta(seconds=60)
SETTLE = timedelta(seconds=2)


class Kind(StrEnum):
    """What can be wrong with a registration, from either side."""

    WORKFLOW_MISSING = "workflow_missing"
    """The store row is open; Temporal knows no workflow with its id."""
    ENDED_ABNORMALLY = "ended_abnormally"
    """The store row is open; the workflow was terminated, failed or timed out
    (`--close-orphans`)."""
    OUTCOME_MISMATCH = "outcome_mismatch"
    """The workflow completed with one outcome; the store says another, or has no row."""
    NO_STORE_ROW = "no_store_row"
    """The workflow has run longer than the grace period; the store has no row for it."""
    STORE_CLOSED = "store_closed"
    """The store row is closed; the workflow still runs."""
    STAGE_MISMATCH = "stage_mismatch"
    """The store's stage is not the one the workflow is at (or the one just before it)."""
    LEVEL_MISMATCH = "level_mismatch"
    """The account's level is not the workflow's."""
    DUPLICATE_EXECUTIONS = "duplicate_executions"
    """More than one workflow execution for one registration id (continue-as-new is one)."""
    DUPLICATE_REGISTRATIONS = "duplicate_registrations"
    """More than one open registration for one phone or e-mail address."""
    HALF_WRITTEN = "half_written"
    """A step audited without its change in the account, or a change without its audit line."""
    STEP_REPEATED = "step_repeated"
    """A step that happens once per registration is in the audit trail more than once."""


FIXABLE = frozenset({Kind.ENDED_ABNORMALLY})
"""What `--close-orphans` repairs."""

# The store's stage is the stage of the last audited step. The workflow enters two stages
# without a line of their own: `profile` right after the password (whose line says
# `password`) and `identity_confirmation` right after the verification (whose line says
# `verification`); there the store is one stage behind by design.
STORE_STAGES: dict[Stage, frozenset[Stage]] = {
    Stage.CONTACT: frozenset({Stage.CONTACT}),
    Stage.PASSWORD: frozenset({Stage.PASSWORD}),
    Stage.PROFILE: frozenset({Stage.PASSWORD, Stage.PROFILE}),
    Stage.VERIFICATION: frozenset({Stage.VERIFICATION}),
    Stage.IDENTITY: frozenset({Stage.VERIFICATION, Stage.IDENTITY}),
}
OUTCOMES: dict[Stage, RegistrationStatus] = {
    Stage.CONFIRMED: RegistrationStatus.CONFIRMED,
    Stage.CANCELLED: RegistrationStatus.CANCELLED,
    Stage.EXPIRED: RegistrationStatus.EXPIRED,
    Stage.REFUSED: RegistrationStatus.REFUSED,
}
ABNORMAL_ENDS = frozenset(
    {
        WorkflowExecutionStatus.TERMINATED,
        WorkflowExecutionStatus.FAILED,
        WorkflowExecutionStatus.TIMED_OUT,
        WorkflowExecutionStatus.CANCELED,
    }
)
ONCE = ("registration_started", "contact_confirmed", "verified")
"""Steps whose audit line is written once, whatever the retries (`password_set` may be
audited again when a citizen repeats a step whose answer was lost)."""


@dataclass(frozen=True)
class WorkflowView:
    """What Temporal says about one registration id."""

    status: WorkflowExecutionStatus
    """Of its newest execution."""
    stage: Stage | None
    level: Level | None
    started_at: datetime
    """When its first execution started."""
    executions: int
    """Executions that did not continue as new: one, unless the id was used twice."""


@dataclass(frozen=True)
class Finding:
    registration_id: str
    kind: Kind
    message: str


@dataclass
class Report:
    registrations: int
    """Registration ids looked at: in the store, in Temporal, or both."""
    findings: list[Finding] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    """Closed by `--close-orphans`."""

    @property
    def consistent(self) -> bool:
        return not self.findings

    def as_json(self) -> str:
        return json.dumps(
            {
                "consistent": self.consistent,
                "registrations": self.registrations,
                "mismatches": [asdict(finding) for finding in self.findings],
                "closed": self.closed,
            },
            indent=2,
        )

    def render(self) -> str:
        lines = [f"Checked {self.registrations} registration(s) in the store and in Temporal."]
        for registration_id in self.closed:
            lines.append(f"  closed {registration_id}: its workflow had ended abnormally")
        if self.consistent:
            lines.append("Consistent: the store matches the workflows.")
            return "\n".join(lines)
        lines.append(f"{len(self.findings)} mismatch(es):")
        for finding in self.findings:
            lines.append(f"  {finding.registration_id}  {finding.kind}: {finding.message}")
        if any(finding.kind in FIXABLE for finding in self.findings):
            lines.append(
                "Close the rows of abnormally ended workflows (audited): gosreg check "
                '--close-orphans --actor "support:<your client id>" --reason "<why>"'
            )
        return "\n".join(lines)


# --- judging ------------------------------------------------------------------------------


def judge(
    registration_id: str,
    store: RegistrationSummary | None,
    workflow: WorkflowView | None,
    now: datetime,
    grace: timedelta = GRACE,
) -> list[Finding]:
    """What is wrong with one registration, given both sides (None: that side has nothing)."""
    faults = list(store_faults(store)) if store is not None else []
    if workflow is not None and workflow.executions > 1:
        faults.append(
            (
                Kind.DUPLICATE_EXECUTIONS,
                f"{workflow.executions} workflow executions share this id; there must be one",
            )
        )
    faults += _disagreements(store, workflow, now, grace)
    return [Finding(registration_id, kind, message) for kind, message in faults]


def _disagreements(
    store: RegistrationSummary | None,
    workflow: WorkflowView | None,
    now: datetime,
    grace: timedelta,
) -> Iterable[tuple[Kind, str]]:
    if workflow is None:
        if store is not None and store.status is RegistrationStatus.OPEN:
            yield Kind.WORKFLOW_MISSING, f"the store row is open (stage {store.stage}); no workflow"
        return
    ended = f"the workflow ended {workflow.stage}"
    if workflow.status is WorkflowExecutionStatus.RUNNING:
        if store is None:
            if now - workflow.started_at > grace:
                yield Kind.NO_STORE_ROW, f"the workflow runs (stage {workflow.stage}); no row"
            return
        if store.status is not RegistrationStatus.OPEN:
            yield Kind.STORE_CLOSED, f"the row is {store.status}; the workflow still runs"
        elif workflow.stage in STORE_STAGES and store.stage not in STORE_STAGES[workflow.stage]:
            yield Kind.STAGE_MISMATCH, f"the workflow is at {workflow.stage}; store: {store.stage}"
    elif workflow.status is WorkflowExecutionStatus.COMPLETED:
        if store is None:
            # Refused before its row was written: the contact belonged to an account already.
            if workflow.stage is not Stage.REFUSED:
                yield Kind.OUTCOME_MISMATCH, f"{ended}; the store has no row"
            return
        if store.status is not (OUTCOMES.get(workflow.stage) if workflow.stage else None):
            yield Kind.OUTCOME_MISMATCH, f"{ended}; the store row is {store.status}"
            return
    elif workflow.status in ABNORMAL_ENDS:
        if store is not None and store.status is RegistrationStatus.OPEN:
            how = workflow.status.name.lower()
            yield (
                Kind.ENDED_ABNORMALLY,
                (f"the workflow was {how} at stage {workflow.stage}; the row is still open"),
            )
        return
    if store is not None and workflow.level is not None and store.level is not workflow.level:
        yield (
            Kind.LEVEL_MISMATCH,
            (f"the workflow's level is {workflow.level}; the account's is {store.level}"),
        )


def store_faults(store: RegistrationSummary) -> Iterable[tuple[Kind, str]]:
    """What the store says about itself: each audited step and its change go together."""
    for event in ONCE:
        if store.audited[event] > 1:
            yield Kind.STEP_REPEATED, f"{event} is audited {store.audited[event]} times"
    has_account = store.level is not Level.NONE
    if has_account != (store.audited["password_set"] > 0):
        problem = "no password_set line" if has_account else "password_set but no account"
        yield Kind.HALF_WRITTEN, problem
    verified = store.level in (Level.STANDARD, Level.CONFIRMED) and store.profile_stored
    if verified != (store.audited["verified"] > 0):
        problem = f"a {store.level} account, " + (
            "no verified line" if verified else "yet verified is audited"
        )
        yield Kind.HALF_WRITTEN, problem
    if (store.status is RegistrationStatus.CONFIRMED) != (store.level is Level.CONFIRMED):
        yield Kind.HALF_WRITTEN, f"the row is {store.status}; the account is {store.level}"


# --- reading both sides -----------------------------------------------------------------------


def workflow_views(executions: Iterable[WorkflowExecution]) -> dict[str, WorkflowView]:
    """One view per workflow id of the `Registration` executions listed."""
    runs: dict[str, list[WorkflowExecution]] = defaultdict(list)
    for execution in executions:
        runs[execution.id].append(execution)
    views = {}
    for registration_id, chain in runs.items():
        newest = max(chain, key=lambda run: run.start_time)
        views[registration_id] = _view(
            status=newest.status or WorkflowExecutionStatus.RUNNING,
            attributes=newest.typed_search_attributes,
            started_at=min(run.start_time for run in chain),
            executions=sum(
                1 for run in chain if run.status is not WorkflowExecutionStatus.CONTINUED_AS_NEW
            ),
        )
    return views


def _view(
    status: WorkflowExecutionStatus,
    attributes: TypedSearchAttributes,
    started_at: datetime,
    executions: int,
) -> WorkflowView:
    stage, level = attributes.get(search.STAGE), attributes.get(search.LEVEL)
    # Attributes someone else wrote (a workflow of our type that is none of ours) may be
    # anything: a value we do not know reads as none.
    known_stage = stage in Stage.__members__.values()
    known_level = level in Level.__members__.values()
    return WorkflowView(
        status=status,
        stage=Stage(stage) if stage and known_stage else None,
        level=Level(level) if level and known_level else None,
        started_at=started_at,
        executions=executions,
    )


async def list_registrations(
    client: Client, ids: Collection[str] | None
) -> list[WorkflowExecution]:
    """Every execution of the `Registration` workflow (of `ids`, when given), any status."""
    query = 'WorkflowType = "Registration"'
    if ids is not None:
        if not ids:
            return []
        # Quoted as JSON strings, so that an argument cannot change the query.
        query += f" AND WorkflowId IN ({', '.join(json.dumps(one) for one in sorted(ids))})"
    listed = client.list_workflows(query, rpc_timeout=RPC_TIMEOUT)
    return [execution async for execution in listed]


async def described(client: Client, registration_id: str) -> WorkflowView | None:
    """The view from the execution's own description (current, where visibility may lag),
    with the execution count from visibility; None when Temporal has no such workflow."""
    try:
        description = await client.get_workflow_handle(registration_id).describe(
            rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    listed = workflow_views(await list_registrations(client, [registration_id]))
    earlier = listed.get(registration_id)
    return _view(
        status=description.status or WorkflowExecutionStatus.RUNNING,
        attributes=description.typed_search_attributes,
        started_at=earlier.started_at if earlier else description.start_time,
        executions=earlier.executions if earlier else 1,
    )


async def store_views(
    engine: AsyncEngine, ids: Collection[str] | None
) -> dict[str, RegistrationSummary]:
    return {
        summary.registration_id: summary
        async for summary in repository.summarize_registrations(engine, ids)
    }


async def check(
    client: Client,
    engine: AsyncEngine,
    ids: Collection[str] | None = None,
    *,
    grace: timedelta = GRACE,
    settle: timedelta = SETTLE,
) -> Report:
    """Compare the store with Temporal for every registration (or those of `ids`)."""
    stored = await store_views(engine, ids)
    listed = workflow_views(await list_registrations(client, ids))
    everyone = sorted(set(stored) | set(listed))
    now = datetime.now(UTC)
    suspects = [
        registration_id
        for registration_id in everyone
        if judge(
            registration_id, stored.get(registration_id), listed.get(registration_id), now, grace
        )
    ]
    findings: list[Finding] = []
    if suspects:
        await asyncio.sleep(settle.total_seconds())
        stored_again = await store_views(engine, suspects)
        now = datetime.now(UTC)
        for registration_id in suspects:
            workflow = await described(client, registration_id)
            findings += judge(
                registration_id, stored_again.get(registration_id), workflow, now, grace
            )
    shared = await repository.open_registrations_sharing_a_contact(engine)
    if ids is not None:
        shared = [group for group in shared if set(group) & set(ids)]
    for group in shared:
        for registration_id in group:
            others = ", ".join(other for other in group if other != registration_id)
            findings.append(
                Finding(
                    registration_id,
                    Kind.DUPLICATE_REGISTRATIONS,
                    f"open for the same contact as {others}",
                )
            )
    return Report(registrations=len(everyone), findings=findings)


async def close_orphans(
    client: Client, engine: AsyncEngine, report: Report, *, actor: str, reason: str
) -> Report:
    """Close the store rows of the report's abnormally ended workflows (each confirmed ended
    by Temporal first); the report without them, listing them as closed."""
    remaining, closed = [], []
    for finding in report.findings:
        workflow = None
        if finding.kind in FIXABLE:
            workflow = await described(client, finding.registration_id)
        if workflow is None or workflow.status not in ABNORMAL_ENDS:
            remaining.append(finding)
            continue
        await repository.close_abandoned_registration(
            engine,
            finding.registration_id,
            actor=actor,
            reason=reason,
            workflow_status=workflow.status.name.lower(),
        )
        closed.append(finding.registration_id)
    return Report(registrations=report.registrations, findings=remaining, closed=closed)


# --- the command ---------------------------------------------------------------------------


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "check", help="compare the account store with Temporal (exit status 1: mismatches)"
    )
    parser.add_argument("registration_ids", nargs="*", metavar="REGISTRATION_ID")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--grace",
        type=float,
        default=GRACE.total_seconds(),
        help="seconds a new workflow may run before its store row must exist (default 60)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE.total_seconds(),
        help="seconds to wait before reading a difference again (default 2)",
    )
    parser.add_argument(
        "--close-orphans",
        action="store_true",
        help="close (as cancelled, audited) the rows of workflows that ended abnormally",
    )
    parser.add_argument("--actor", help='who closes them, e.g. "support:cl_…"')
    parser.add_argument("--reason", help="why, for the audit trail")


async def run(args: argparse.Namespace) -> int:
    """Carry out `gosreg check`; returns the exit status: 0 consistent, 1 mismatches, 2 the
    check could not be made (Temporal or PostgreSQL unreachable)."""
    if args.close_orphans and not ((args.actor or "").strip() and (args.reason or "").strip()):
        raise SystemExit("--close-orphans needs --actor and --reason (they go into the audit)")
    settings = load_settings()
    try:
        client = await connect(settings)
    except RuntimeError as error:
        print(f"Temporal is unreachable: {error}", file=sys.stderr)
        return 2
    engine = make_engine(database_url(settings))
    try:
        report = await check(
            client,
            engine,
            args.registration_ids or None,
            grace=timedelta(seconds=args.grace),
            settle=timedelta(seconds=args.settle),
        )
        if args.close_orphans:
            report = await close_orphans(
                client, engine, report, actor=args.actor.strip(), reason=args.reason.strip()
            )
    except (RPCError, SQLAlchemyError) as error:
        print(f"The check could not read both sides: {type(error).__name__}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(report.as_json() if args.json else report.render())
    return 0 if report.consistent else 1
