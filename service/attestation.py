"""Only our own services command a registration: every signal and update carries a proof.

The workflow takes a clerk's id, a support actor or a citizen session from the message it
receives, and its whole state from its input when it continues as new. Anyone who can write
to the Temporal namespace could otherwise send such a message, or start a registration with
a forged state, without a token and without the payload keys: the codec lets plaintext
through so that histories written before encryption replay. So every client of ours signs
what it sends (`AttestingClient`), and so does the workflow when it continues as new: a
header with an HMAC, keyed with a key derived from the code secret, over the workflow id, the
workflow's or handler's name and the arguments. The worker checks it (`VerifyingWorker`)
before any code of the registration sees them. An update without a valid proof is rejected
before it touches history; a signal without one is dropped; a run started without one fails
before it does anything (the last two behind patches, so histories recorded before proofs
still replay).

A proof is good for one message only. An update's names its update id (Temporal applies an
id once per run) and the moment it was sent: the worker refuses it after `PROOF_TTL`, so a
copy lifted from history is stale, and each run hands the ids of the updates it handled within
`PROOF_TTL` to its next run, which refuses them too (a run's update ids are new to the next
one). A continue-as-new's proof names the run it continues, which the next run checks against
its `continued_run_id` (a copy sent as a new start continues nothing), and those handed-on ids.
A start's cannot be told from a copy by the worker alone: the registration's first activity
refuses to reopen a registration the store has closed (`store.repository.open_registration`).
What remains: someone who may reset workflows in Temporal can make a new run from an old point
and, within `PROOF_TTL`, send it updates the reset run had handled; resetting is for operators
of the namespace only (docs/security.md).

The arguments are hashed in their canonical form (pydantic JSON without fields left at their
defaults), so a new optional field does not invalidate the proofs of an older sender.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn, cast

from pydantic import BaseModel
from temporalio import activity, client, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowUpdateHandle
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.worker import (
    ActivityInboundInterceptor,
    ContinueAsNewInput,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from workflows.patches import ATTESTED, ATTESTED_START, SIGNED_RESULTS, taken

HEADER = "gosreg-proof"
TIMED_HEADER = "gosreg-proof-timed"
"""An update's proof over its name, id and send time: `<unix seconds>:<hmac>`. `HEADER` still
carries the untimed proof, for workers from before timed proofs (deploy the API first)."""
SPENT_HEADER = "gosreg-spent-updates"
"""On a continue-as-new: the update ids the run handled within `PROOF_TTL`, with their send
times, as JSON; proven with the run's proof."""
PROOF_TTL = timedelta(minutes=10)
"""How long after it was sent an update is taken: longer than any API call waits."""
CLOCK_SKEW = timedelta(minutes=2)
"""How far ahead of the workflow's clock a send time may be (clocks of API and server)."""
UNATTESTED = "unattested"
"""The failure type of an update refused for want of a proof."""


def attestation_key(code_secret: bytes) -> bytes:
    """The key proofs are made with, derived from the code secret (API and worker share it)."""
    return hmac.new(code_secret, b"gosreg-attestation", hashlib.sha256).digest()


def proof(key: bytes, workflow_id: str, name: str, args: Sequence[Any]) -> str:
    """The proof that our service sent `name(*args)` to `workflow_id`."""
    parts = [workflow_id, name, *(_canonical(arg) for arg in args)]
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _canonical(arg: Any) -> str:
    if isinstance(arg, BaseModel):
        return arg.model_dump_json(exclude_defaults=True)
    return json.dumps(arg, sort_keys=True, default=str, ensure_ascii=False)


def _proven(
    key: bytes, workflow_id: str, name: str, args: Sequence[Any], headers: Mapping[str, Payload]
) -> bool:
    sent = headers.get(HEADER)
    if sent is None:
        return False
    return hmac.compare_digest(sent.data, proof(key, workflow_id, name, args).encode())


def _update_name(update: str, update_id: str) -> str:
    """What an update's proof names: the handler and the update id (applied once per run)."""
    return f"{update}#{update_id}"


def proven_run(
    key: bytes,
    workflow_id: str,
    workflow_type: str,
    continued_run_id: str | None,
    args: Sequence[Any],
    headers: Mapping[str, Payload],
) -> bool:
    """Whether a run was started by our service (or continued by our workflow): its start
    carries our proof over its input."""
    spent = headers.get(SPENT_HEADER)
    spent_ids = spent.data.decode(errors="replace") if spent is not None else None
    name = _run_name(workflow_type, continued_run_id, spent_ids)
    return _proven(key, workflow_id, name, args, headers)


def _timed_key(key: bytes) -> bytes:
    """Timed proofs have a key of their own: an untimed proof over `name#id@T` (an id the
    caller chose) is then no timed proof of `name#id` sent at T."""
    return hmac.new(key, b"gosreg-timed-update-proof", hashlib.sha256).digest()


def _timed_name(update_name: str, sent_at: int) -> str:
    return f"{update_name}@{sent_at}"


def _sent_at(
    key: bytes, workflow_id: str, name: str, args: Sequence[Any], headers: Mapping[str, Payload]
) -> int | None:
    """When our service sent the update `name`, if its timed proof is valid."""
    sent = headers.get(TIMED_HEADER)
    if sent is None:
        return None
    moment, _, value = sent.data.decode(errors="replace").partition(":")
    if not moment.isdigit():
        return None
    expected = proof(_timed_key(key), workflow_id, _timed_name(name, int(moment)), args)
    return int(moment) if hmac.compare_digest(value, expected) else None


def _handed_on(headers: Mapping[str, Payload]) -> dict[str, int]:
    """The update ids a run was handed by the run it continues (unproven here: they can only
    make the worker refuse more)."""
    spent = headers.get(SPENT_HEADER)
    if spent is None:
        return {}
    try:
        handed = json.loads(spent.data)
    except ValueError:
        return {}
    return handed if isinstance(handed, dict) else {}


def _run_name(workflow_type: str, continued_run_id: str | None, spent: str | None = None) -> str:
    """What a run's proof names: the workflow type, the run it continues, if any, and the
    update ids handed on from it, if any."""
    name = workflow_type if continued_run_id is None else f"{workflow_type}#{continued_run_id}"
    return name if spent is None else f"{name}|{spent}"


def _with_proof(
    headers: Mapping[str, Payload], value: str, header: str = HEADER
) -> dict[str, Payload]:
    return {**headers, header: Payload(metadata={"encoding": b"binary/plain"}, data=value.encode())}


class AttestingClient(client.Interceptor):
    """Client interceptor: every signal and update this client sends carries its proof.
    `clock` gives the send time an update's proof names (tests set it)."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _AttestingOutbound(next, self._key, self._clock)


class _AttestingOutbound(client.OutboundInterceptor):
    def __init__(
        self, next: client.OutboundInterceptor, key: bytes, clock: Callable[[], float]
    ) -> None:
        super().__init__(next)
        self._key = key
        self._clock = clock

    async def start_workflow(
        self, input: client.StartWorkflowInput
    ) -> client.WorkflowHandle[Any, Any]:
        value = proof(self._key, input.id, input.workflow, input.args)
        input.headers = _with_proof(input.headers, value)
        return await super().start_workflow(input)

    async def signal_workflow(self, input: client.SignalWorkflowInput) -> None:
        value = proof(self._key, input.id, input.signal, input.args)
        input.headers = _with_proof(input.headers, value)
        await super().signal_workflow(input)

    async def start_workflow_update(
        self, input: client.StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        input.update_id = input.update_id or str(uuid.uuid4())
        input.headers = self._update_headers(
            input.id, input.update, input.update_id, input.args, input.headers
        )
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: client.StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = _with_proof(
            start.headers, proof(self._key, start.id, start.workflow, start.args)
        )
        update.update_id = update.update_id or str(uuid.uuid4())
        update.headers = self._update_headers(
            start.id, update.update, update.update_id, update.args, update.headers
        )
        return await super().start_update_with_start_workflow(input)

    def _update_headers(
        self,
        workflow_id: str,
        update: str,
        update_id: str,
        args: Sequence[Any],
        headers: Mapping[str, Payload],
    ) -> Mapping[str, Payload]:
        """An update's headers with its proof, and its proof of when it was sent."""
        name = _update_name(update, update_id)
        sent_at = int(self._clock())
        timed = proof(_timed_key(self._key), workflow_id, _timed_name(name, sent_at), args)
        proven = _with_proof(headers, proof(self._key, workflow_id, name, args))
        return _with_proof(proven, f"{sent_at}:{timed}", TIMED_HEADER)


class VerifyingWorker(Interceptor):
    """Worker interceptor: a registration takes signals and updates only with a valid proof.

    `fresh_for` is `PROOF_TTL`; only a time-skipping test server, whose workflow clock runs
    days ahead of its clients', needs None (no send-time check). Activities run only with the
    proof of the run that scheduled them; those first scheduled before `unproven_before` (in
    flight when workers that require it were deployed) run without."""

    def __init__(
        self,
        key: bytes,
        *,
        fresh_for: timedelta | None = PROOF_TTL,
        unproven_before: datetime | None = None,
    ) -> None:
        self._key = key
        self._fresh_for = fresh_for
        self._unproven_before = unproven_before

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _VerifyingActivity(next, self._key, self._unproven_before)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        key, fresh_for = self._key, self._fresh_for

        def stale(sent_at: int) -> bool:
            if fresh_for is None:
                return False
            now = workflow.now().timestamp()
            return (
                not now - fresh_for.total_seconds() <= sent_at <= now + CLOCK_SKEW.total_seconds()
            )

        class Verifying(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                self._handled: dict[str, int] = {}
                """Update ids this run handled or was handed, with their send times."""
                super().init(_AttestingWorkflow(outbound, key, self._handled))

            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                info = workflow.info()
                spent = input.headers.get(SPENT_HEADER)
                spent_ids = spent.data.decode(errors="replace") if spent is not None else None
                proven = proven_run(
                    key,
                    info.workflow_id,
                    info.workflow_type,
                    info.continued_run_id,
                    input.args,
                    input.headers,
                )
                if not proven and taken(ATTESTED_START):
                    raise ApplicationError(
                        "Only the registration service may start a registration",
                        type=UNATTESTED,
                        non_retryable=True,
                    )
                if proven and spent_ids is not None:
                    self._handled.update(json.loads(spent_ids))
                return await super().execute_workflow(input)

            async def handle_signal(self, input: HandleSignalInput) -> None:
                info = workflow.info()
                proven = _proven(key, info.workflow_id, input.signal, input.args, input.headers)
                if not proven and taken(ATTESTED):
                    workflow.logger.warning("signal %s without a valid proof dropped", input.signal)
                    return
                await super().handle_signal(input)

            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                # Validators run only when an update arrives, never on replay.
                sent_at = self._sent_at(input)
                if (
                    sent_at is None
                    or stale(sent_at)
                    or input.id in self._handled
                    # The run's first task may hold updates that are validated before
                    # `execute_workflow` loads the handed-on ids: read them from the start.
                    or input.id in _handed_on(workflow.info().headers)
                ):
                    raise ApplicationError(
                        "Only the registration service may send this update",
                        type=UNATTESTED,
                        non_retryable=True,
                    )
                super().handle_update_validator(input)

            async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
                # Runs on replay too, so a run rebuilt from history knows what it handled.
                sent_at = self._sent_at(input)
                if sent_at is not None:
                    self._handled[input.id] = sent_at
                return await super().handle_update_handler(input)

            @staticmethod
            def _sent_at(input: HandleUpdateInput) -> int | None:
                name = _update_name(input.update, input.id)
                workflow_id = workflow.info().workflow_id
                return _sent_at(key, workflow_id, name, input.args, input.headers)

        return Verifying


SIGN_RESULT_HEADER = "gosreg-sign-result"
"""Set by a run that takes only signed results: the activity signs its result."""


class SignedResult(BaseModel):
    """An activity's result (its JSON) with the proof of the activity that produced it."""

    value: Any = None
    proof: str


RESULTS = "activity-results"
"""Where results' proofs are made: their activity ids are random and unique (a result is
bound to its activity, wherever it ran), so no workflow id is named."""


def _result_name(activity_type: str, activity_id: str) -> str:
    """What a result's proof names: the activity, by type and by its id, which the run drew
    from its deterministic randomness (unique across runs, the same on replay)."""
    return f"result:{activity_type}#{activity_id}"


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _activity_name(activity_type: str, run_id: str) -> str:
    """What an activity's proof names: its type, and the run that scheduled it."""
    return f"activity:{activity_type}#{run_id}"


class _VerifyingActivity(ActivityInboundInterceptor):
    """An activity runs only for a registration of ours: the run that scheduled it proved its
    type and arguments. Anyone who can write to the namespace can schedule activities on our
    task queue from a workflow of their own; without the proof they do nothing."""

    def __init__(
        self, next: ActivityInboundInterceptor, key: bytes, unproven_before: datetime | None
    ) -> None:
        super().__init__(next)
        self._key = key
        self._unproven_before = unproven_before

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.is_local:
            # Scheduled by a workflow task this very worker runs, for a workflow type it
            # registered: never dispatched through the server, so no one else can ask for it
            # or complete it, and there is nothing to prove.
            return await super().execute_activity(input)
        name = _activity_name(info.activity_type, info.workflow_run_id or "")
        proven = _proven(self._key, info.workflow_id or "", name, input.args, input.headers)
        # Scheduled before proofs were required (in flight when the workers were upgraded).
        grandfathered = (
            self._unproven_before is not None and info.scheduled_time < self._unproven_before
        )
        if not proven and not grandfathered:
            activity.logger.warning("activity %s without a valid proof refused", info.activity_type)
            raise ApplicationError(
                "Only a registration may run this activity", type=UNATTESTED, non_retryable=True
            )
        result = await super().execute_activity(input)
        if SIGN_RESULT_HEADER not in input.headers:
            return result  # a run from before signed results
        value = _jsonable(result)
        name = _result_name(info.activity_type, info.activity_id)
        return SignedResult(value=value, proof=proof(self._key, RESULTS, name, [value]))


class _AttestingWorkflow(WorkflowOutboundInterceptor):
    """The workflow proves the activities it schedules, and the state it hands to its next
    run."""

    def __init__(
        self, next: WorkflowOutboundInterceptor, key: bytes, handled: dict[str, int]
    ) -> None:
        super().__init__(next)
        self._key = key
        self._handled = handled

    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        info = workflow.info()
        name = _activity_name(input.activity, info.run_id)
        input.headers = _with_proof(
            input.headers, proof(self._key, info.workflow_id, name, input.args)
        )
        if not taken(SIGNED_RESULTS):
            return super().start_activity(input)
        # Anyone who can write to the namespace can complete a running activity by its id:
        # the run takes only a result its own activity signed, under an id it chose.
        activity_id = input.activity_id or f"signed-{workflow.uuid4().hex}"
        input.activity_id = activity_id
        input.headers = _with_proof(input.headers, "1", SIGN_RESULT_HEADER)
        ret_type, input.ret_type = input.ret_type, None  # read as JSON, then checked
        handle = super().start_activity(input)
        verified = asyncio.ensure_future(
            self._verified(handle, ret_type, input.activity, activity_id)
        )
        return cast(ActivityHandle[Any], verified)

    async def _verified(
        self, handle: ActivityHandle[Any], ret_type: type | None, activity_type: str, id: str
    ) -> Any:
        raw = await handle
        name = _result_name(activity_type, id)
        try:
            signed = SignedResult.model_validate(raw)
            expected = proof(self._key, RESULTS, name, [signed.value])
            valid = hmac.compare_digest(signed.proof, expected)
        except (ValueError, TypeError):
            valid = False
        if not valid:
            workflow.logger.warning("a result of %s without a valid proof refused", activity_type)
            refused = ActivityError(
                "The activity's result is not its own",
                scheduled_event_id=0,
                started_event_id=0,
                identity="",
                activity_type=activity_type,
                activity_id=id,
                retry_state=RetryState.NON_RETRYABLE_FAILURE,
            )
            raise refused from ApplicationError(
                "The activity's result is not its own", type=UNATTESTED, non_retryable=True
            )
        if ret_type is None or signed.value is None:
            return signed.value
        return workflow.payload_converter().from_payload(
            workflow.payload_converter().to_payload(signed.value), ret_type
        )

    def start_local_activity(self, input: StartLocalActivityInput) -> ActivityHandle[Any]:
        # A local activity runs in this worker for this run and needs no proof, but the run
        # decides `SIGNED_RESULTS` before it: a patch marker after a local activity's answer in
        # the same workflow task cannot be replayed (workflows.patches; no marker at all since
        # `EVERY_PATCH`).
        taken(SIGNED_RESULTS)
        return super().start_local_activity(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        info = workflow.info()
        fresh_after = workflow.now().timestamp() - PROOF_TTL.total_seconds()
        recent = {id: at for id, at in self._handled.items() if at >= fresh_after}
        spent = json.dumps(recent, sort_keys=True, separators=(",", ":")) if recent else None
        name = _run_name(input.workflow or info.workflow_type, info.run_id, spent)
        value = proof(self._key, info.workflow_id, name, input.args)
        input.headers = _with_proof(input.headers, value)
        if spent is not None:
            input.headers = _with_proof(input.headers, spent, SPENT_HEADER)
        super().continue_as_new(input)
