"""A registration's whole life in plain words, for the support desk: `gosreg explain <id>` and
`GET /v1/support/registrations/{id}/explain`.

The story is read from the workflow's history, every run of it (continue-as-new), decoded with
the keyring: when each stage began and how long it lasted (the stage search attribute is set
the moment a stage begins), each agency's requests with their attempts and answers, letters
with their tracking, every audit line (the store's audit trail is written by the same
activities, so the history holds it too) and every step that was refused, and for a running
registration what it waits for now (its current details) and what would unblock it.

Personal data stays out unless support asks for it (`reveal`): then the name and contact are
shown, and the caller audits the request. Reading (`read_runs`) is separate from telling
(`tell`, pure), so recorded histories are told the same way in tests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from registration.journey import Agency, Stage
from workflows import search_attributes as search
from workflows.details import AGENCY_NAMES, span

RPC_TIMEOUT = timedelta(seconds=10)
AGENCY_ACTIVITIES = {
    "check_pension_fund": Agency.PENSION_FUND,
    "check_passport": Agency.MVD,
    "lookup_inn": Agency.FNS,
}
NOT_AUDITED = frozenset(
    {"send_contact_code", "notify_user", "send_password_link", "track_letter", "verify_signature"}
)
"""Activities whose input carries no audit line."""

Decode = Callable[[Payload], Awaitable[Any]]


@dataclass(frozen=True)
class Run:
    """One run of the registration: its events, and each payload the story reads, decoded."""

    run_id: str
    events: list[HistoryEvent]
    payloads: dict[int, Any] = field(repr=False)
    """By event id: the decoded first payload of the event (input, result or outcome)."""


@dataclass(frozen=True)
class Line:
    at: datetime
    text: str


@dataclass
class AgencyAsk:
    agency: Agency
    request: str
    asked_at: datetime
    attempts: int = 0
    answered_at: datetime | None = None
    answer: str = "no answer yet"


@dataclass
class Story:
    registration_id: str
    runs: int = 0
    started_at: datetime | None = None
    opened_by: str = "the portal"
    channel: str = "unknown"
    person: str | None = None
    """Name and contact: only when revealed."""
    stages: list[tuple[Stage, datetime]] = field(default_factory=list)
    agencies: list[AgencyAsk] = field(default_factory=list)
    letters: list[Line] = field(default_factory=list)
    done: list[Line] = field(default_factory=list)
    refused: list[Line] = field(default_factory=list)
    outcome: Line | None = None
    waiting: str | None = None

    def render(self, now: datetime) -> str:
        out = [f"Registration {self.registration_id}"]
        where = (
            f"started {_at(self.started_at)} by {self.opened_by}, contact by {self.channel}"
            if self.started_at
            else "its first run is not part of this story"
        )
        out.append(f"  {where}; {self.runs} run(s) of its workflow")
        if self.person is not None:
            out.append(f"  person (revealed): {self.person}")
        if self.outcome is not None:
            out.append(f"  outcome: {self.outcome.text} ({_at(self.outcome.at)})")
        out += ["", "Stages"]
        for index, (stage, began) in enumerate(self.stages):
            following = self.stages[index + 1][1] if index + 1 < len(self.stages) else None
            if stage.is_final:
                out.append(f"  {stage.value:<24} reached {_at(began)}")
                continue
            end = following or (self.outcome.at if self.outcome else now)
            still = "" if following or self.outcome else " so far"
            out.append(f"  {stage.value:<24} {_at(began)}, {span(end - began)}{still}")
        out += ["", "Agencies"]
        out += [
            f"  {AGENCY_NAMES[ask.agency]} ({ask.request}): asked {_at(ask.asked_at)}, "
            f"{ask.attempts or 'no'} attempt(s); "
            + (
                f"answered {_at(ask.answered_at)} after {span(ask.answered_at - ask.asked_at)}: "
                if ask.answered_at
                else ""
            )
            + ask.answer
            for ask in self.agencies
        ] or ["  none asked"]
        out += ["", "Letters"]
        out += [f"  {_at(line.at)}  {line.text}" for line in self.letters] or ["  none"]
        out += ["", "Who did what"]
        out += [f"  {_at(line.at)}  {line.text}" for line in self.done] or ["  nothing"]
        out += ["", "Refused steps"]
        out += [f"  {_at(line.at)}  {line.text}" for line in self.refused] or ["  none"]
        if self.waiting is not None:
            out += ["", "Now", *(f"  {text}" for text in self.waiting.splitlines() if text)]
        return "\n".join(out) + "\n"


def _at(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "unknown"


# --- reading --------------------------------------------------------------------------------


async def read_runs(client: Client, registration_id: str) -> list[Run]:
    """Every run of the registration, oldest first, with the payloads the story reads decoded
    by the client's converter (the keyring). Empty when Temporal knows no such workflow."""
    runs: list[Run] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(registration_id, run_id=run_id)
        try:
            events = [e async for e in handle.fetch_history_events(rpc_timeout=RPC_TIMEOUT)]
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                break
            raise
        if not events:
            break
        runs.append(await _decoded(events[0], events, client))
        previous = events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous:
            break
        run_id = previous
    return list(reversed(runs))


async def runs_of_history(history: WorkflowHistory) -> list[Run]:
    """A recorded history (one run, plain JSON payloads), as `read_runs` reads a live one."""
    return [await _decoded(history.events[0], list(history.events), None)]


async def _decoded(first: HistoryEvent, events: list[HistoryEvent], client: Client | None) -> Run:
    async def decode(payload: Payload) -> Any:
        if client is not None and client.data_converter.payload_codec is not None:
            (payload,) = await client.data_converter.payload_codec.decode([payload])
        try:
            value = json.loads(payload.data) if payload.data else None
        except ValueError:
            return None
        if isinstance(value, dict) and value.keys() == {"value", "proof"}:
            return value["value"]  # a signed activity result
        return value

    payloads: dict[int, Any] = {}
    for event in events:
        payload = _first_payload(event)
        if payload is not None:
            payloads[event.event_id] = await decode(payload)
    run_id = first.workflow_execution_started_event_attributes.original_execution_run_id
    return Run(run_id=run_id, events=events, payloads=payloads)


def _first_payload(event: HistoryEvent) -> Payload | None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        found = event.workflow_execution_started_event_attributes.input.payloads
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        found = event.activity_task_scheduled_event_attributes.input.payloads
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        found = event.activity_task_completed_event_attributes.result.payloads
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        attributes = event.workflow_execution_update_accepted_event_attributes
        found = attributes.accepted_request.input.args.payloads
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        found = event.workflow_execution_completed_event_attributes.result.payloads
    elif _local_activity_type(event) is not None:
        result = event.marker_recorded_event_attributes.details.get("result")
        if result is None:
            return None
        found = result.payloads
    else:
        return None
    return found[0] if found else None


# --- telling --------------------------------------------------------------------------------


def tell(
    registration_id: str, runs: Iterable[Run], *, reveal: bool = False, waiting: str | None = None
) -> Story:
    """The story of `runs` (oldest first). `waiting` is what a running registration waits
    for now (its current details), told as they are."""
    story = Story(registration_id=registration_id, waiting=waiting)
    for run in runs:
        story.runs += 1
        _Teller(story, run, reveal).tell()
    return story


class _Teller:
    def __init__(self, story: Story, run: Run, reveal: bool) -> None:
        self.story, self.run, self.reveal = story, run, reveal
        self.asks: dict[int, AgencyAsk] = {}
        self.updates: dict[str, str] = {}

    def tell(self) -> None:
        for event in self.run.events:
            at = event.event_time.ToDatetime(tzinfo=UTC)
            handler = _HANDLERS.get(event.event_type)
            if handler is not None:
                handler(self, event, at)

    def payload(self, event: HistoryEvent) -> Any:
        return self.run.payloads.get(event.event_id)

    def started(self, event: HistoryEvent, at: datetime) -> None:
        attributes = event.workflow_execution_started_event_attributes
        story, given = self.story, self.payload(event)
        if attributes.continued_execution_run_id:
            # A later run. Without the first one (a recorded run alone), its start says where
            # the registration stood.
            story.done.append(Line(at, f"{'system':<28} a new run took over"))
            self._stage(attributes.search_attributes.indexed_fields, at)
            return
        story.started_at = at
        if isinstance(given, dict):
            story.channel = str((given.get("contact") or {}).get("channel", "unknown"))
            counter = given.get("counter")
            if isinstance(counter, dict):
                clerk = counter.get("clerk") or {}
                story.opened_by = (
                    f"clerk:{clerk.get('clerk_id')} at service center "
                    f"{clerk.get('service_center_id')}"
                )
            if self.reveal:
                person, contact = given.get("person") or {}, given.get("contact") or {}
                story.person = (
                    f"{person.get('surname', '')} {person.get('name', '')}, "
                    f"{contact.get('address', '')}"
                ).strip()

    def attributes(self, event: HistoryEvent, at: datetime) -> None:
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        self._stage(fields.indexed_fields, at)

    def _stage(self, fields: Mapping[str, Payload], at: datetime) -> None:
        payload = fields.get(search.STAGE.name)
        if payload is None:
            return
        try:
            stage = Stage(json.loads(payload.data))
        except ValueError:
            return
        if not self.story.stages or self.story.stages[-1][0] is not stage:
            self.story.stages.append((stage, at))

    def scheduled(self, event: HistoryEvent, at: datetime) -> None:
        kind = event.activity_task_scheduled_event_attributes.activity_type.name
        given = self.payload(event)
        agency = AGENCY_ACTIVITIES.get(kind)
        if agency is not None:
            key = str((given or {}).get("request_key", ""))
            version = key.rsplit(":", 1)[-1] if ":" in key else "request"
            ask = AgencyAsk(agency=agency, request=f"profile {version}", asked_at=at)
            self.asks[event.event_id] = ask
            self.story.agencies.append(ask)
        elif kind not in NOT_AUDITED and isinstance(given, dict):
            line = given.get("audit", given) if kind != "record_audit" else given
            self._audited(line, at)

    def local_activity(self, event: HistoryEvent, at: datetime) -> None:
        """A store write run as a local activity: its audit lines are its result (its input
        is not kept in history)."""
        kind = _local_activity_type(event)
        done = self.payload(event)
        if kind is None or kind in NOT_AUDITED or not isinstance(done, dict):
            return
        for line in done.get("entries", [done]):
            self._audited(line, at)

    def _audited(self, line: Any, at: datetime) -> None:
        if not isinstance(line, dict) or "event" not in line:
            return
        details = line.get("details") or {}
        shown = ", ".join(f"{k} {v}" for k, v in details.items() if k not in _PRIVATE_DETAILS)
        text = f"{line.get('actor', 'system'):<28} {line['event']}"
        self.story.done.append(Line(at, f"{text} ({shown})" if shown else text))
        letter = _LETTER_EVENTS.get(line["event"])
        if letter is not None:
            self.story.letters.append(Line(at, letter.format(**_Missing(details))))

    def activity_started(self, event: HistoryEvent, at: datetime) -> None:
        attributes = event.activity_task_started_event_attributes
        ask = self.asks.get(attributes.scheduled_event_id)
        if ask is not None:
            ask.attempts = max(ask.attempts, attributes.attempt)

    def completed(self, event: HistoryEvent, at: datetime) -> None:
        scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
        ask = self.asks.get(scheduled)
        if ask is not None:
            ask.answered_at = at
            ask.answer = _agency_answer(self.payload(event))

    def failed(self, event: HistoryEvent, at: datetime) -> None:
        attributes = event.activity_task_failed_event_attributes
        ask = self.asks.get(attributes.scheduled_event_id)
        if ask is not None:
            ask.answered_at = at
            ask.answer = f"gave up: {attributes.failure.message}"

    def timed_out(self, event: HistoryEvent, at: datetime) -> None:
        attributes = event.activity_task_timed_out_event_attributes
        ask = self.asks.get(attributes.scheduled_event_id)
        if ask is not None:
            ask.answered_at = at
            ask.answer = "no answer before its deadline"

    def update_accepted(self, event: HistoryEvent, at: datetime) -> None:
        attributes = event.workflow_execution_update_accepted_event_attributes
        request = attributes.accepted_request
        self.updates[request.meta.update_id] = request.input.name

    def update_completed(self, event: HistoryEvent, at: datetime) -> None:
        attributes = event.workflow_execution_update_completed_event_attributes
        name = self.updates.get(attributes.meta.update_id, "a step")
        failure = attributes.outcome.failure
        if attributes.outcome.HasField("failure"):
            code = failure.application_failure_info.type or "refused"
            self.story.refused.append(Line(at, f"{name}: {code} — {failure.message}"))

    def signaled(self, event: HistoryEvent, at: datetime) -> None:
        name = event.workflow_execution_signaled_event_attributes.signal_name
        self.story.done.append(Line(at, f"{'signal':<28} {name} received"))

    def continued(self, event: HistoryEvent, at: datetime) -> None:
        self.story.done.append(Line(at, f"{'system':<28} continued as a new run"))

    def closed(self, event: HistoryEvent, at: datetime) -> None:
        result = self.payload(event)
        if isinstance(result, dict):
            method = f", method {result['method']}" if result.get("method") else ""
            text = f"{result.get('stage', 'finished')}{method}, level {result.get('level')}"
        else:
            text = "finished"
        self.story.outcome = Line(at, text)

    def ended(self, event: HistoryEvent, at: datetime) -> None:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_WORKFLOW_EXECUTION_")
        self.story.outcome = Line(at, f"workflow {kind.lower().replace('_', ' ')}")


_LETTER_EVENTS = {
    "letter_ordered": "letter {sequence} ordered, tracking {tracking_number}",
    "letter_resent": "ordered again by support",
    "letter_status": "the post says: {status}",
    "letter_reminder": "the citizen was reminded to enter the code",
    "letter_code_expired": "the code of letter {sequence} expired",
    "letter_code_locked": "code entry locked until {locked_until} (wrong codes)",
}
"""Audit events that tell a letter's story, as support reads it."""


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


LOCAL_ACTIVITY_MARKER = "core_local_activity"


def local_activity(event: HistoryEvent) -> dict[str, Any] | None:
    """What a local activity's marker records of it (`activity_type`, `attempt`, …), as
    Temporal's core writes it; None for any other event."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    marker = event.marker_recorded_event_attributes
    data = marker.details.get("data")
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or data is None or not data.payloads:
        return None
    try:
        found = json.loads(data.payloads[0].data)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _local_activity_type(event: HistoryEvent) -> str | None:
    kind = (local_activity(event) or {}).get("activity_type")
    return kind if isinstance(kind, str) else None


_PRIVATE_DETAILS = frozenset({"session_id", "previous"})
"""Audit details support does not need to read the story (secret-adjacent ids)."""

_HANDLERS: dict[int, Callable[[_Teller, HistoryEvent, datetime], None]] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: _Teller.started,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _Teller.attributes,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _Teller.scheduled,
    EventType.EVENT_TYPE_MARKER_RECORDED: _Teller.local_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: _Teller.activity_started,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: _Teller.completed,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: _Teller.failed,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: _Teller.timed_out,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _Teller.update_accepted,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: _Teller.update_completed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: _Teller.signaled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _Teller.continued,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: _Teller.closed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: _Teller.ended,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: _Teller.ended,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: _Teller.ended,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: _Teller.ended,
}


def _agency_answer(result: Any) -> str:
    if not isinstance(result, dict):
        return "answered"
    if "found" in result:  # FNS: the INN lookup
        return "INN found" if result["found"] else "no INN found"
    if result.get("matched"):
        return "confirmed the data"
    reason = result.get("reason_code") or "mismatch"
    return f"did not confirm: {reason} ({result.get('reason') or 'no reason given'})"


# --- one registration, live -----------------------------------------------------------------


async def explain(client: Client, registration_id: str, *, reveal: bool = False) -> Story | None:
    """The story of a registration, read from Temporal now; None when Temporal knows no
    workflow of that id. For a running one, `waiting` is its current details (what it waits
    for, and support's hint) and the activities that are retrying."""
    runs = await read_runs(client, registration_id)
    if not runs:
        return None
    handle = client.get_workflow_handle(registration_id)
    description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
    waiting = None
    if description.status is WorkflowExecutionStatus.RUNNING:
        metadata = await handle.query(
            "__temporal_workflow_metadata", result_type=WorkflowMetadata, rpc_timeout=RPC_TIMEOUT
        )
        retrying = [
            f"{pending.activity_type.name}: attempt {pending.attempt}"
            + (
                f", last failure: {pending.last_failure.message}"
                if pending.last_failure.message
                else ""
            )
            for pending in description.raw_description.pending_activities
        ]
        waiting = "\n".join([metadata.current_details, *retrying])
    return tell(registration_id, runs, reveal=reveal, waiting=waiting)
