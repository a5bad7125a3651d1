"""The front door to registrations, for everything that is not the workflow itself.

The portal (through the API), the demo, the tests and support tools all reach a registration
through `Registrations`: it validates what a person typed (the exact error before anything is
sent), turns codes into keyed hashes and passwords into argon2 hashes so neither enters
Temporal, and maps the workflow's answers and refusals to plain results and `StepRefused`.
Every call to Temporal has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast, get_type_hints

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from registration.address import PostalAddress
from registration.codes import Purpose, contact_key, hash_code, validate_code_input
from registration.contact import Channel, Contact
from registration.errors import FieldError, InvalidInput, Refusal, StepRefused
from registration.journey import ConfirmationMethod, Deadline, Origin, Stage
from registration.messages import (
    BankConfirmation,
    Cancel,
    ChooseMethod,
    ClerkConfirmation,
    CodeSentView,
    CodeVerdict,
    ConfirmationVerdict,
    CounterClerk,
    CounterStart,
    DeadlineExtended,
    ExtendDeadline,
    MethodChosen,
    PasswordSet,
    RegistrationInput,
    RegistrationResult,
    RegistrationView,
    RequestNewCode,
    StepDone,
    SubmitCode,
    SubmitProfile,
    SubmitSignature,
    SupportAction,
)
from registration.password import validate_password, validate_password_confirmation
from registration.person import Person, Profile, validate_profile, validate_registration_start
from registration.policy import Policy
from service import explain as explaining
from service.attestation import attestation_key, proven_run
from service.limits import Caller, Limits, rate_limited
from service.sessions import looks_like_session, new_session, session_hash
from store import idempotency, password_links, repository, staff_events
from store.passwords import hash_password
from store.repository import AuditRecord, RegistrationNotFound, SessionRecord
from workflows import RegistrationWorkflow

RPC_TIMEOUT = timedelta(seconds=10)
# An update waits for the workflow's answer, which may include one activity (letter, signature).
UPDATE_TIMEOUT = timedelta(seconds=40)

log = logging.getLogger(__name__)
UNENCODABLE = "Text must be valid Unicode (no lone surrogate characters)"
R = TypeVar("R")
Arg = TypeVar("Arg")


def contact_digest(secret: bytes, contact: Contact) -> str:
    """The part of a registration id that names its contact (keyed; see `contact_key`)."""
    return contact_key(secret, contact)[:32]


def contact_digest_of(registration_id: str) -> str:
    """The contact part of a registration id made by `registration_id_for`."""
    return registration_id.removeprefix("reg-").rsplit("-", 1)[0]


def registration_id_for(secret: bytes, contact: Contact, attempt: int) -> str:
    """The workflow id of a contact's `attempt`-th registration: the same for every start
    while that attempt runs (a second start finds the first), new once it has ended (ids are
    never reused: the store keys its rows and audit trail by them), and keyed (the contact
    cannot be read back from it, nor guessed without the secret)."""
    return f"reg-{contact_digest(secret, contact)}-{attempt}"


RETRYABLE = frozenset({Refusal.UNAVAILABLE, Refusal.DELIVERY_FAILED})
"""Refusals that mean "not applied, try again": a retry of the step under the same
Idempotency-Key is carried out anew rather than answered with the old refusal."""
MAX_STEP_ATTEMPTS = 50
MAX_TAKEN_IDS = 5
"""Registration ids of a contact held by workflows we never started, skipped at most."""

STATIC_DETAILS = (
    "One citizen's sign-up on the e-services portal: contact code → password → profile → "
    "Pension Fund and MVD checks (INN from FNS) → identity confirmation by letter, in person, "
    "e-signature or bank. Current details say what it waits for now; the audit trail "
    "(`gosreg audit <id>`) says who did what. Payloads are encrypted: support reads them "
    "decoded on the support desk, the codec server's address (README, Support runbook)."
)


@dataclass(frozen=True)
class Started:
    registration_id: str
    state: RegistrationView
    """As the new session sees it: a session that has not proven the contact sees nothing of
    a running registration's progress."""
    session: str = field(repr=False)
    """The session's secret, shown once: every later citizen step presents it."""
    session_id: str
    created: bool
    """False when the contact's running registration was joined instead (never told to the
    caller: both answers look alike)."""


@dataclass(frozen=True)
class CounterStarted:
    registration_id: str
    created: bool
    """False when this center's running registration of the contact was taken up again."""


@dataclass(frozen=True)
class LinkConfirmed:
    verdict: CodeVerdict
    session: str | None = field(repr=False)
    """The session that proved the contact, when the link's token was right."""


# Refusals of the fresh code a joining session asks for that still let the start succeed: the
# code sent before is still good, or a new one can be asked for later.
_JOIN_ANYWAY = frozenset(
    {Refusal.RESEND_TOO_SOON, Refusal.RESEND_LIMIT, Refusal.LOCKED, Refusal.DELIVERY_FAILED}
)
REVEALED = "personal_data_revealed"
"""The staff event of support asking to see a registration's personal data."""
ROW_WAIT, ROW_WAIT_LOOKS = timedelta(seconds=5), 50
ENDING_WAIT = timedelta(seconds=10)
"""How long a start waits for the contact's registration that is being closed (cancelled,
expired) to finish closing, so that it starts the next one instead of joining it."""


class Registrations:
    def __init__(
        self,
        client: Client,
        engine: AsyncEngine,
        *,
        task_queue: str,
        code_secret: bytes,
        policy: Policy | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._client = client
        self._engine = engine
        self._task_queue = task_queue
        self._secret = code_secret
        self._policy = policy or Policy()
        self._limits = limits

    @property
    def client(self) -> Client:
        return self._client

    # --- portal --------------------------------------------------------------------------

    async def start(
        self,
        surname: str,
        name: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        caller: Caller | None = None,
    ) -> Started:
        """Start a registration for this contact, or join the one running, always with a new
        session that has proven nothing: a joining session gets a fresh code sent to the
        contact (within its limits) and sees the registration's progress only once that code
        is entered through it (which revokes every other session)."""
        person, contact = validate_registration_start(surname, name, phone, email)
        blocked = await self._admit(contact, caller)
        token, session_id = new_session()
        registration_id, created, opened = await self._start_or_join(
            person, contact, blocked, session_id=session_id
        )
        await self._open_session(registration_id, token, session_id, caller)
        if not created:
            try:
                await self.request_new_code(registration_id, session_id=session_id)
            except StepRefused as refused:
                if refused.code not in _JOIN_ANYWAY:
                    raise
        return Started(
            registration_id,
            opened or await self.state(registration_id, session_id=session_id),
            session=token,
            session_id=session_id,
            created=created,
        )

    async def register_at_counter(
        self,
        clerk: CounterClerk,
        profile: Profile,
        *,
        phone: str | None = None,
        email: str | None = None,
        caller: Caller | None = None,
    ) -> CounterStarted:
        """Start a registration from scratch at a service-center counter: the clerk entered
        the profile from the documents in front of them, and a code goes to the contact for
        the citizen to read out (`submit_contact_code` with `counter`). A contact with an
        account, or with a registration running elsewhere (online, or at another center), is
        refused; one running at this clerk's center is taken up again."""
        checked = validate_profile(profile, datetime.now(UTC).date())
        person, contact = validate_registration_start(checked.surname, checked.name, phone, email)
        # While no code may be sent, a running registration is still found (and taken up, or
        # refused as running elsewhere); only a new one waits.
        blocked = await self._admit(contact, caller)
        started = CounterStart(clerk=clerk, profile=checked)
        registration_id, created, _ = await self._start_or_join(person, contact, blocked, started)
        if not created:
            running = await self.opened_row(registration_id)
            if running is None or running.service_center_id != clerk.service_center_id:
                where = (
                    "online"
                    if running is None or running.origin is Origin.PORTAL
                    else "at another service center"
                )
                raise StepRefused(
                    Refusal.REGISTRATION_IN_PROGRESS,
                    f"This contact has a registration in progress {where}: it is finished or "
                    "cancelled first (one awaiting identity confirmation is confirmed in person)",
                    details={"stage": Stage.CONTACT if running is None else running.stage},
                )
        return CounterStarted(registration_id=registration_id, created=created)

    async def _admit(self, contact: Contact, caller: Caller | None) -> datetime | None:
        """Count a start against its limits and refuse a contact that has an account; when
        no code may be sent to the contact before a moment, that moment."""
        if self._limits is not None and caller is not None:
            await self._limits.on_start(caller, contact_digest(self._secret, contact))
        if await repository.find_account_by_contact(self._engine, contact) is not None:
            raise StepRefused(
                Refusal.ALREADY_FINISHED,
                "An account with this phone or e-mail exists already: log in instead",
            )
        return await self._limits.next_code_at(contact) if self._limits is not None else None

    async def _start_or_join(
        self,
        person: Person,
        contact: Contact,
        blocked: datetime | None,
        counter: CounterStart | None = None,
        *,
        session_id: str | None = None,
    ) -> tuple[str, bool, RegistrationView | None]:
        """The contact's registration to act on, whether this call started it and, when it
        did with a `session_id`, how that session sees it once opened (`_start`). A new one is
        started unless one is running; one that is being closed is waited for, then followed
        by a new one (never joined). While no code may be sent to the contact (until
        `blocked`), only a running registration is joined: a new one would wait without a
        code."""
        for _ in range(3):
            first = await repository.last_closed_attempt(self._engine, contact) + 1
            for attempt in range(first, first + MAX_TAKEN_IDS + 1):
                registration_id = registration_id_for(self._secret, contact, attempt)
                if blocked is None:
                    try:
                        opened = await self._start(
                            registration_id, person, contact, counter, session_id
                        )
                        return registration_id, True, opened
                    except WorkflowAlreadyStartedError:
                        pass
                description = await self._describe(registration_id)
                if description is None:
                    if blocked is not None:
                        raise rate_limited(blocked)
                    break  # gone since the start was refused: look again
                if await self._taken_by_another(registration_id):
                    log.warning(
                        "registration id %s is held by a workflow we never started: skipped",
                        registration_id,
                    )
                    continue
                # This contact's registration is running (a retry, or a racing twin: both find
                # it), or it ended but the store never heard (terminated by hand).
                if description.status is not WorkflowExecutionStatus.RUNNING:
                    raise StepRefused(
                        Refusal.UNAVAILABLE,
                        "The previous registration of this contact ended abnormally: "
                        "contact support",
                        details={"registration_id": registration_id},
                    )
                if not (await self.state(registration_id)).stage.is_final:
                    return registration_id, False, None
                with contextlib.suppress(TimeoutError, WorkflowFailureError):
                    await asyncio.wait_for(
                        self._handle(registration_id).result(), ENDING_WAIT.total_seconds()
                    )
                break  # it has closed: the next attempt follows it
            else:
                raise StepRefused(
                    Refusal.UNAVAILABLE,
                    "The next registrations of this contact cannot be started: contact support",
                )
        raise StepRefused(
            Refusal.UNAVAILABLE,
            "The previous registration of this contact is still closing: try again shortly",
        )

    async def _taken_by_another(self, registration_id: str) -> bool:
        """Whether a workflow under our id is none of ours: the store never opened it (ours
        do so first) and its start carries no proof of ours. Someone with write access to
        Temporal can take a contact's next id; the contact then skips it instead of being
        locked out."""
        if await repository.is_known(self._engine, registration_id):
            return False
        handle = self._client.get_workflow_handle(registration_id)
        async for event in handle.fetch_history_events(rpc_timeout=RPC_TIMEOUT):
            started = event.workflow_execution_started_event_attributes
            try:
                args = await self._client.data_converter.decode(
                    started.input.payloads, [RegistrationInput]
                )
            except Exception:  # input no key of ours can read: not ours
                return True
            return not proven_run(
                attestation_key(self._secret),
                registration_id,
                started.workflow_type.name,
                started.continued_execution_run_id or None,
                args,
                started.header.fields,
            )
        return True

    async def _describe(self, registration_id: str) -> WorkflowExecutionDescription | None:
        try:
            return await self._handle(registration_id).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise

    async def _start(
        self,
        registration_id: str,
        person: Person,
        contact: Contact,
        counter: CounterStart | None = None,
        session_id: str | None = None,
    ) -> RegistrationView | None:
        """Start the registration; raises `WorkflowAlreadyStartedError` when its id is taken.
        With `session_id`, the start carries update `opened` (update-with-start, one round
        trip), and the answer is the registration as that session sees it once its code is
        on its way; without it (a counter start), None."""
        where = "" if counter is None else " at a service center"
        input = RegistrationInput(
            registration_id=registration_id,
            person=person,
            contact=contact,
            policy=self._policy,
            counter=counter,
        )
        options: dict[str, Any] = {
            "id": registration_id,
            "task_queue": self._task_queue,
            "static_summary": f"Citizen registration{where} by {contact.channel.value}",
            "static_details": STATIC_DETAILS,
            # Exactly one of any number of racing starts is told it created the registration.
            "id_conflict_policy": WorkflowIDConflictPolicy.FAIL,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        }
        if session_id is None:
            await self._client.start_workflow(
                RegistrationWorkflow.run, input, rpc_timeout=RPC_TIMEOUT, **options
            )
            return None
        started = WithStartWorkflowOperation(RegistrationWorkflow.run, input, **options)
        try:
            return await self._client.execute_update_with_start_workflow(
                RegistrationWorkflow.opened,
                session_id,
                start_workflow_operation=started,
                rpc_timeout=UPDATE_TIMEOUT,
            )
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # Started (the update is accepted with its start or not at all), its code still on
            # its way: the registration as it is now.
            return await self.state(registration_id, session_id=session_id)

    async def _open_session(
        self, registration_id: str, token: str, session_id: str, caller: Caller | None
    ) -> None:
        """Record a new unproven session of the registration (`new_session`)."""
        await repository.open_session(
            self._engine,
            registration_id,
            session_id,
            session_hash(self._secret, token),
            caller.client_id if caller is not None else "service",
        )

    async def session(self, registration_id: str, token: str, caller: Caller) -> SessionRecord:
        """The session of the registration that `token` opened, through `caller`'s portal. An
        unknown token, or one another portal opened, is `RegistrationNotFound` (as an unknown
        id is: a stranger learns nothing); a revoked one is `Refusal.SESSION_REVOKED`."""
        found = None
        if looks_like_session(token):
            found = await repository.find_session(
                self._engine, registration_id, session_hash(self._secret, token)
            )
        if found is None or found.client_id != caller.client_id:
            raise RegistrationNotFound(registration_id)
        if found.revoked:
            raise StepRefused(
                Refusal.SESSION_REVOKED,
                "This session no longer holds the registration: the contact was confirmed in "
                "another session",
            )
        return found

    async def submit_contact_code(
        self,
        registration_id: str,
        code: str,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
        caller: Caller | None = None,
        counter: CounterClerk | None = None,
    ) -> CodeVerdict:
        """Judge a contact code typed by the citizen (`session_id`), or read out to a clerk
        of the registering center (`counter`)."""
        await self._count_code_entry(registration_id, caller)
        channel = await self._channel(registration_id)
        purpose = Purpose.SMS if channel is Channel.SMS else Purpose.EMAIL
        entered = self._hashed(registration_id, purpose, code, session_id)
        return await self._update(
            registration_id,
            RegistrationWorkflow.submit_contact_code,
            entered.model_copy(update={"counter": counter}),
            step_id=step_id,
        )

    async def confirm_email_link(
        self, registration_id: str, token: str, *, caller: Caller | None = None
    ) -> LinkConfirmed:
        """The e-mail confirmation link, opened wherever the citizen reads their mail (often
        not the browser that started): the link's token is entered through a new session,
        which becomes the owner when the token is right. The session is shown once."""
        if await self._channel(registration_id) is not Channel.EMAIL:
            raise StepRefused(
                Refusal.INVALID_INPUT,
                "This registration confirms its contact by SMS code, not by e-mail link",
                details={"field": "token"},
            )
        await self._count_code_entry(registration_id, caller)
        session, session_id = new_session()
        await self._open_session(registration_id, session, session_id, caller)
        accepted = False
        try:
            verdict = await self._update(
                registration_id,
                RegistrationWorkflow.submit_contact_code,
                self._hashed(registration_id, Purpose.EMAIL, token, session_id),
            )
            accepted = verdict.accepted
        finally:
            if not accepted:  # a refused link leaves no session behind
                await repository.discard_session(self._engine, session_id)
        return LinkConfirmed(verdict=verdict, session=session if accepted else None)

    async def request_new_code(
        self,
        registration_id: str,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
        counter: CounterClerk | None = None,
    ) -> CodeSentView:
        return await self._update(
            registration_id,
            RegistrationWorkflow.request_new_code,
            RequestNewCode(session_id=session_id, counter=counter),
            step_id=step_id,
        )

    async def set_password(
        self,
        registration_id: str,
        password: str,
        repeated: str,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
    ) -> StepDone:
        """Check the policy, stage the argon2 hash in the store, then tell the workflow which
        staging to activate: of racing submissions, the one the workflow accepts is the one
        stored; a retry after success gets the first answer (same key) or `wrong_stage`."""
        registration = await repository.get_registration(self._engine, registration_id)
        if registration is None:
            raise RegistrationNotFound(registration_id)
        validate_password_confirmation(password, repeated, field="password_repeated")
        validate_password(
            password,
            contact=registration.contact,
            surname=registration.surname,
            name=registration.name,
        )
        # argon2 costs ~0.25 s of CPU on purpose: off the event loop, or every request waits.
        password_hash = await asyncio.to_thread(hash_password, password)
        staged_id = uuid.uuid4().hex
        try:
            await repository.stage_password(self._engine, registration_id, password_hash, staged_id)
        except repository.PasswordStepOver:
            # Set already (or closed). Under the key of the step that set it, the update gives
            # the first answer; anything else, the workflow's refusal (wrong stage).
            staged_id = ""
        return await self._update(
            registration_id,
            RegistrationWorkflow.password_set,
            PasswordSet(session_id=session_id, staged_id=staged_id),
            step_id=step_id,
        )

    async def submit_profile(
        self,
        registration_id: str,
        profile: Profile,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
        counter: CounterClerk | None = None,
    ) -> StepDone:
        """A (corrected) profile from the citizen (`session_id`), or from a clerk of the
        center that registers the person (`counter`)."""
        return await self._update(
            registration_id,
            RegistrationWorkflow.submit_profile,
            SubmitProfile(profile=profile, session_id=session_id, counter=counter),
            step_id=step_id,
            count=self._limits.on_profile if self._limits is not None else None,
        )

    async def set_password_by_link(
        self, registration_id: str, token: str, password: str, repeated: str
    ) -> None:
        """The citizen of a registration made at a counter sets their password through the
        one-time link sent when the account was confirmed. A link that is malformed, unknown,
        used or out of date is refused alike (`LINK_INVALID`)."""
        invalid = StepRefused(
            Refusal.LINK_INVALID,
            "This link is not valid: it was used already, is out of date or is mistyped. "
            "Ask the service center for a new one",
        )
        try:
            typed = validate_code_input(Purpose.PASSWORD, token, field="token")
        except InvalidInput:
            raise invalid from None
        registration = await repository.get_registration(self._engine, registration_id)
        if registration is None:
            raise invalid
        validate_password_confirmation(password, repeated, field="password_repeated")
        validate_password(
            password,
            contact=registration.contact,
            surname=registration.surname,
            name=registration.name,
        )
        password_hash = await asyncio.to_thread(hash_password, password)
        token_hash = hash_code(self._secret, registration_id, Purpose.PASSWORD, typed)
        try:
            await password_links.set_password(
                self._engine, registration_id, token_hash, password_hash
            )
        except password_links.LinkInvalid:
            raise invalid from None
        log.info("password set through its link for registration %s", registration_id)

    async def choose_method(
        self,
        registration_id: str,
        method: ConfirmationMethod,
        address: PostalAddress | None = None,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
    ) -> MethodChosen:
        return await self._update(
            registration_id,
            RegistrationWorkflow.choose_method,
            ChooseMethod(method=method, address=address, session_id=session_id),
            step_id=step_id,
            count=self._limits.on_method if self._limits is not None else None,
        )

    async def submit_letter_code(
        self,
        registration_id: str,
        code: str,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
        caller: Caller | None = None,
    ) -> CodeVerdict:
        await self._count_code_entry(registration_id, caller)
        return await self._update(
            registration_id,
            RegistrationWorkflow.submit_letter_code,
            self._hashed(registration_id, Purpose.LETTER, code, session_id),
            step_id=step_id,
        )

    async def submit_signature(
        self, registration_id: str, signed_request: str, *, step_id: str | None = None
    ) -> ConfirmationVerdict:
        return await self._update(
            registration_id,
            RegistrationWorkflow.submit_signature,
            SubmitSignature(signed_request=signed_request),
            step_id=step_id,
        )

    async def cancel(
        self,
        registration_id: str,
        actor: str,
        reason: str,
        *,
        step_id: str | None = None,
        session_id: str | None = None,
    ) -> StepDone:
        return await self._update(
            registration_id,
            RegistrationWorkflow.cancel,
            Cancel(actor=actor, reason=reason, session_id=session_id),
            step_id=step_id,
        )

    async def state(
        self, registration_id: str, *, session_id: str | None = None
    ) -> RegistrationView:
        """The registration's state; as `session_id` may see it when given (citizen steps)."""
        handle = self._handle(registration_id)
        try:
            if session_id is None:
                return await handle.query(RegistrationWorkflow.state, rpc_timeout=RPC_TIMEOUT)
            return await handle.query(
                RegistrationWorkflow.session_state, session_id, rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as error:
            raise await self._translate(registration_id, error) from error

    async def opened_row(self, registration_id: str) -> repository.RegistrationRecord | None:
        """The registration's store row, waiting a moment for a workflow that was just started
        (here, or by a racing twin) to write it; None when it does not come."""
        for _ in range(ROW_WAIT_LOOKS):
            record = await repository.get_registration(self._engine, registration_id)
            if record is not None:
                return record
            await asyncio.sleep(ROW_WAIT.total_seconds() / ROW_WAIT_LOOKS)
        return None

    async def _channel(self, registration_id: str) -> Channel:
        """The registration's contact channel: from its store row (one read by key, no
        workflow task), or from the workflow before it has written the row."""
        record = await repository.get_registration(self._engine, registration_id)
        if record is not None:
            return record.channel
        return (await self.state(registration_id)).channel

    async def _count_code_entry(self, registration_id: str, caller: Caller | None) -> None:
        if self._limits is not None and caller is not None:
            await self._limits.on_code_entry(caller, contact_digest_of(registration_id))

    async def result(self, registration_id: str) -> RegistrationResult:
        return await self._handle(registration_id).result(rpc_timeout=RPC_TIMEOUT)

    # --- clerks and partners -------------------------------------------------------------

    async def awaiting_in_person(
        self, *, snils: str | None = None, phone: str | None = None
    ) -> list[str]:
        """Registrations a clerk may confirm for the person with this SNILS or phone; found in
        the store (Temporal holds no personal data to search by)."""
        return await repository.awaiting_identity_confirmation(
            self._engine, snils=snils, phone=phone
        )

    async def counter_profile(self, registration_id: str) -> Profile | None:
        """The profile a registration made at a counter was last given by its clerks (for
        their correction form); None for one started online. Ask it for a clerk of the
        registering center only: it is the person's whole profile."""
        try:
            answer = await self._handle(registration_id).query(
                RegistrationWorkflow.counter_profile, rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as error:
            raise await self._translate(registration_id, error) from error
        return answer.profile

    async def clerk_confirmation(
        self, registration_id: str, seen: ClerkConfirmation, *, step_id: str | None = None
    ) -> ConfirmationVerdict:
        """What the clerk saw, judged by the workflow: confirmed, or refused naming the
        documents that differ. Refused as a step (`StepRefused`) out of its stage or while
        confirmation is locked after too many refusals."""
        return await self._update(
            registration_id, RegistrationWorkflow.confirm_in_person, seen, step_id=step_id
        )

    async def bank_confirmation(
        self, registration_id: str, vouched: BankConfirmation, *, step_id: str | None = None
    ) -> ConfirmationVerdict:
        """What the bank vouches for, judged by the workflow: confirmed, or refused without
        saying what differs (the audit trail says it)."""
        return await self._update(
            registration_id, RegistrationWorkflow.confirm_by_bank, vouched, step_id=step_id
        )

    # --- support -------------------------------------------------------------------------

    async def retry_checks(
        self, registration_id: str, actor: str, reason: str, *, step_id: str | None = None
    ) -> StepDone:
        return await self._update(
            registration_id,
            RegistrationWorkflow.retry_checks,
            SupportAction(actor=actor, reason=reason),
            step_id=step_id,
        )

    async def resend_letter(
        self, registration_id: str, actor: str, reason: str, *, step_id: str | None = None
    ) -> MethodChosen:
        return await self._update(
            registration_id,
            RegistrationWorkflow.resend_letter,
            SupportAction(actor=actor, reason=reason),
            step_id=step_id,
        )

    async def extend_deadline(
        self,
        registration_id: str,
        actor: str,
        reason: str,
        deadline: Deadline,
        days: int,
        *,
        step_id: str | None = None,
    ) -> DeadlineExtended:
        return await self._update(
            registration_id,
            RegistrationWorkflow.extend_deadline,
            ExtendDeadline(actor=actor, reason=reason, deadline=deadline, days=days),
            step_id=step_id,
        )

    async def explain(
        self, registration_id: str, *, actor: str, reveal: bool = False
    ) -> explaining.Story:
        """The registration's life in plain words (`service.explain`), for `actor` (support);
        naming the person only when `reveal`, which is recorded in `staff_events` before the
        story is told. `RegistrationNotFound` when Temporal knows no such registration."""
        story = await explaining.explain(self._client, registration_id, reveal=reveal)
        if story is None:
            raise RegistrationNotFound(registration_id)
        if reveal:
            await staff_events.record(
                self._engine, REVEALED, actor, registration_id=registration_id, seen="explain"
            )
        return story

    async def audit_trail(
        self, registration_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[AuditRecord]:
        """What happened to the registration, as the store recorded it, in order: the lines
        after `after_seq`, at most `limit` of them (all when None). A registration with no
        line at all is `RegistrationNotFound`; past the last line, the answer is empty."""
        trail = await repository.list_audit(
            self._engine, registration_id, after_seq=after_seq, limit=limit
        )
        if not trail and after_seq == 0:
            raise RegistrationNotFound(registration_id)
        return trail

    # --- plumbing ------------------------------------------------------------------------

    def _handle(
        self, registration_id: str
    ) -> WorkflowHandle[RegistrationWorkflow, RegistrationResult]:
        return self._client.get_workflow_handle_for(RegistrationWorkflow.run, registration_id)

    def _hashed(
        self, registration_id: str, purpose: Purpose, code: str, session_id: str | None
    ) -> SubmitCode:
        typed = validate_code_input(purpose, code)
        return SubmitCode(
            code_hash=hash_code(self._secret, registration_id, purpose, typed),
            session_id=session_id,
        )

    async def _update(
        self,
        registration_id: str,
        update: UpdateMethodMultiParam[[RegistrationWorkflow, Arg], R],
        arg: Arg,
        step_id: str | None = None,
        count: Callable[[str], Awaitable[None]] | None = None,
    ) -> R:
        """Run an update. The same `step_id` (the caller's idempotency key) is the same step:
        applied once, and a retry gets the first answer — kept in the store (`step_outcomes`),
        because Temporal remembers an update id within one run only and a registration may
        have continued as new since. A step refused as "not applied, try again" (`RETRYABLE`)
        is tried again by a retry. `count` (a per-registration limit) counts the step only
        when it is to be applied: a retry answered from the store is not counted again."""
        handle = self._handle(registration_id)
        # Named after the handler method: one key on two steps is two steps.
        name = getattr(update, "__name__", "update")
        step = f"{name}:{step_id}" if step_id else None
        attempt = 0
        try:
            if step is not None:
                record = await idempotency.step_record(self._engine, registration_id, step)
                if record.outcome is not None:
                    answer_type = get_type_hints(update)["return"]
                    return cast(R, answer_type.model_validate(record.outcome))
                attempt = record.refused_attempts
            if count is not None:
                await count(registration_id)
            result = await handle.execute_update(
                update, arg, id=step_update_id(step, attempt), rpc_timeout=UPDATE_TIMEOUT
            )
        except WorkflowUpdateFailedError as error:
            refused = refusal_of(error)
            if step is not None and refused.code in RETRYABLE:
                await self._count_refusal(registration_id, step, attempt)
            raise refused from error
        except RPCError as error:
            raise await self._translate(registration_id, error) from error
        except PydanticSerializationError:
            # Text with a lone surrogate: no JSON, no UTF-8, so nothing that can be sent.
            raise InvalidInput(
                [FieldError(field="body", code="text.invalid", message=UNENCODABLE)]
            ) from None
        if step is not None and isinstance(result, BaseModel):
            try:
                answer = result.model_dump(mode="json")
                await idempotency.remember_outcome(self._engine, registration_id, step, answer)
            except OperationalError as error:  # applied all the same; a retry asks Temporal
                log.warning("a step's answer was not kept: %s", type(error).__name__)
        return result

    async def _count_refusal(self, registration_id: str, step: str, attempt: int) -> None:
        """A retry of the step is its next attempt, under the next update id (Temporal keeps
        an update id's outcome for good). Not kept, the retry repeats this attempt: it gets
        this refusal again from Temporal, and that counts it."""
        try:
            await idempotency.count_refusal(self._engine, registration_id, step, attempt)
        except OperationalError as error:
            log.warning("a step's refusal was not counted: %s", type(error).__name__)

    async def _translate(self, registration_id: str, error: RPCError) -> Exception:
        """NOT_FOUND means either no such registration or one that has finished."""
        if error.status is not RPCStatusCode.NOT_FOUND:
            return error
        try:
            description = await self._handle(registration_id).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError:
            return RegistrationNotFound(registration_id)
        if description.status is WorkflowExecutionStatus.RUNNING:
            return error
        return StepRefused(Refusal.ALREADY_FINISHED, "The registration is already finished")


def step_update_id(step: str | None, attempt: int) -> str | None:
    """The update id of a keyed step's attempt (from 0): `name:key`, then `name:key:1`, … for
    the attempts after ones refused as "not applied, try again". Racing retries of an attempt
    send the same id, and Temporal applies it once. None (Temporal picks one) for a step
    without a key."""
    if step is None:
        return None
    if attempt >= MAX_STEP_ATTEMPTS:
        raise StepRefused(
            Refusal.UNAVAILABLE,
            f"This step was tried {MAX_STEP_ATTEMPTS} times under one Idempotency-Key: "
            "send it with a new key",
        )
    return step + (f":{attempt}" if attempt else "")


def refusal_of(error: WorkflowUpdateFailedError) -> StepRefused:
    """The workflow's refusal as a `StepRefused` with its stable code, message and details."""
    cause = error.cause
    if not isinstance(cause, ApplicationError) or cause.type is None:
        return StepRefused(Refusal.UNAVAILABLE, "The registration could not take this step now")
    payload = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    try:
        code = Refusal(cause.type)
    except ValueError:
        code = Refusal.UNAVAILABLE
    return StepRefused(
        code,
        cause.message,
        errors=[FieldError.model_validate(e) for e in payload.get("errors") or []],
        details=payload.get("details") or {},
    )
