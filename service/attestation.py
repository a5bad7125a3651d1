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
id once per run); a continue-as-new's names the run it continues, which the next run checks
against its `continued_run_id` (a copy sent as a new start continues nothing). A start's
cannot be told from a copy by the worker alone: the registration's first activity refuses to
reopen a registration the store has closed (`store.repository.open_registration`).

The arguments are hashed in their canonical form (pydantic JSON without fields left at their
defaults), so a new optional field does not invalidate the proofs of an older sender.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from pydantic import BaseModel
from temporalio import client, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowUpdateHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ContinueAsNewInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

HEADER = "gosreg-proof"
ATTESTED = "attested-signals-1"
"""Patch: signals without a valid proof are dropped. Histories recorded before it apply them."""
ATTESTED_START = "attested-start-1"
"""Patch: a run whose input has no valid proof fails at once. Runs from before it start."""
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


def _run_name(workflow_type: str, continued_run_id: str | None) -> str:
    """What a run's proof names: the workflow type, and the run it continues, if any."""
    return workflow_type if continued_run_id is None else f"{workflow_type}#{continued_run_id}"


def _with_proof(headers: Mapping[str, Payload], value: str) -> dict[str, Payload]:
    return {**headers, HEADER: Payload(metadata={"encoding": b"binary/plain"}, data=value.encode())}


class AttestingClient(client.Interceptor):
    """Client interceptor: every signal and update this client sends carries its proof."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _AttestingOutbound(next, self._key)


class _AttestingOutbound(client.OutboundInterceptor):
    def __init__(self, next: client.OutboundInterceptor, key: bytes) -> None:
        super().__init__(next)
        self._key = key

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
        value = proof(self._key, input.id, _update_name(input.update, input.update_id), input.args)
        input.headers = _with_proof(input.headers, value)
        return await super().start_workflow_update(input)


class VerifyingWorker(Interceptor):
    """Worker interceptor: a registration takes signals and updates only with a valid proof."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        key = self._key

        class Verifying(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(_AttestingContinuation(outbound, key))

            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                info = workflow.info()
                name = _run_name(info.workflow_type, info.continued_run_id)
                proven = _proven(key, info.workflow_id, name, input.args, input.headers)
                if not proven and workflow.patched(ATTESTED_START):
                    raise ApplicationError(
                        "Only the registration service may start a registration",
                        type=UNATTESTED,
                        non_retryable=True,
                    )
                return await super().execute_workflow(input)

            async def handle_signal(self, input: HandleSignalInput) -> None:
                info = workflow.info()
                proven = _proven(key, info.workflow_id, input.signal, input.args, input.headers)
                if not proven and workflow.patched(ATTESTED):
                    workflow.logger.warning("signal %s without a valid proof dropped", input.signal)
                    return
                await super().handle_signal(input)

            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                # Validators run only when an update arrives, never on replay.
                name = _update_name(input.update, input.id)
                if not _proven(key, workflow.info().workflow_id, name, input.args, input.headers):
                    raise ApplicationError(
                        "Only the registration service may send this update",
                        type=UNATTESTED,
                        non_retryable=True,
                    )
                super().handle_update_validator(input)

        return Verifying


class _AttestingContinuation(WorkflowOutboundInterceptor):
    """The workflow proves the state it hands to its next run."""

    def __init__(self, next: WorkflowOutboundInterceptor, key: bytes) -> None:
        super().__init__(next)
        self._key = key

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        info = workflow.info()
        name = _run_name(input.workflow or info.workflow_type, info.run_id)
        value = proof(self._key, info.workflow_id, name, input.args)
        input.headers = _with_proof(input.headers, value)
        super().continue_as_new(input)
