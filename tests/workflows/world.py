"""A small stand-in for the outside world, for tests about the workflow itself.

Activities are replaced by name (the workflow cannot tell): codes are derived and hashed with
the real `registration.codes` functions so tests can "read the SMS"; agencies answer as each
test scripts them; the store is a list of calls. Real HTTP and PostgreSQL are tested elsewhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import ACTIVITIES
from registration import errors
from registration.activity_messages import (
    ActivatePassword,
    AgencyCheck,
    AuditBatch,
    AuditEntry,
    BindSession,
    CheckResult,
    CloseRegistration,
    ConfirmIdentity,
    DeliverEvents,
    InnResult,
    LetterOrdered,
    LetterStatus,
    Notify,
    OpenCounterAccount,
    OpenRegistration,
    OrderLetter,
    PortalEvent,
    SaveVerifiedProfile,
    SendContactCode,
    SendPasswordLink,
    SentCode,
    SignatureCheck,
    TrackLetter,
    VerifySignature,
)
from registration.codes import Purpose, derive_code, hash_code
from registration.journey import Agency
from service.attestation import AttestingClient, attestation_key

SECRET = b"test-secret"
ATTESTATION_KEY = attestation_key(SECRET)
"""What the tests' clients prove their messages with, and their workers check (as in the
stack): every recorded history carries the proofs the replay test checks again."""


def attesting(client: Client) -> Client:
    """`client`, proving every start, signal and update it sends, as our services do."""
    config = client.config()
    config["interceptors"] = [AttestingClient(ATTESTATION_KEY)]
    return Client(**config)


@dataclass
class AgencyScript:
    """How an agency behaves: `pending` attempts before it answers (None: never answers)."""

    pending: int | None = 0
    matched: bool = True
    reason_code: str = "mismatch"
    reason: str = "Data do not match"


@dataclass
class World:
    agencies: dict[Agency, AgencyScript] = field(
        default_factory=lambda: {agency: AgencyScript() for agency in Agency}
    )
    signature: SignatureCheck | None = None
    staged_passwords: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    audit: list[AuditEntry] = field(default_factory=list)
    store: list[tuple[str, Any]] = field(default_factory=list)
    notices: list[Notify] = field(default_factory=list)
    password_links: list[SendPasswordLink] = field(default_factory=list)
    portal_events: dict[str, PortalEvent] = field(default_factory=dict)
    """What the portal received, by event id (a receiver that honours the id)."""
    portal_down_for: int = 0
    """Delivery attempts the portal fails before it takes events."""
    letters: list[OrderLetter] = field(default_factory=list)
    taken_contacts: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    post_down: bool = False

    # --- what a test reads --------------------------------------------------------------

    @staticmethod
    def sms_code(registration_id: str, sequence: int) -> str:
        return derive_code(SECRET, registration_id, Purpose.SMS, sequence)

    @staticmethod
    def code_hash(registration_id: str, purpose: Purpose, code: str) -> str:
        return hash_code(SECRET, registration_id, purpose, code)

    @staticmethod
    def letter_code(registration_id: str, sequence: int) -> str:
        return derive_code(SECRET, registration_id, Purpose.LETTER, sequence)

    def events(self, registration_id: str) -> list[str]:
        entries = [e for e in self.audit if e.registration_id == registration_id]
        return [e.event for e in sorted(entries, key=lambda e: e.seq)]

    def activities(self) -> list[Any]:
        """The world's stand-ins, one for each activity the worker runs (`ACTIVITIES`)."""
        return [getattr(self, fn.__name__) for fns in ACTIVITIES.values() for fn in fns]

    # --- messaging --------------------------------------------------------------------

    @activity.defn(name="send_contact_code")
    async def send_contact_code(self, request: SendContactCode) -> SentCode:
        self.calls["send_contact_code"] += 1
        if request.contact.address.endswith("0000000"):
            raise ApplicationError(
                "unknown subscriber", type=errors.DELIVERY_REJECTED, non_retryable=True
            )
        purpose = Purpose.SMS if request.contact.channel == "sms" else Purpose.EMAIL
        code = derive_code(SECRET, request.registration_id, purpose, request.sequence)
        return SentCode(code_hash=hash_code(SECRET, request.registration_id, purpose, code))

    @activity.defn(name="notify_user")
    async def notify_user(self, request: Notify) -> None:
        self.notices.append(request)

    @activity.defn(name="send_password_link")
    async def send_password_link(self, request: SendPasswordLink) -> None:
        if request not in self.password_links:
            self.password_links.append(request)

    # --- the portal ---------------------------------------------------------------------

    @activity.defn(name="deliver_portal_events")
    async def deliver_events(self, request: DeliverEvents) -> None:
        self.calls["deliver_portal_events"] += 1
        if self.calls["deliver_portal_events"] <= self.portal_down_for:
            raise ApplicationError("portal: 503", type=errors.TRANSIENT_FAULT)
        for event in request.events:
            self.portal_events.setdefault(event.id, event)

    def stages_told(self, registration_id: str) -> list[str]:
        events = [e for e in self.portal_events.values() if e.registration_id == registration_id]
        return [e.stage for e in sorted(events, key=lambda e: int(e.id.rsplit("/", 1)[1]))]

    # --- agencies ---------------------------------------------------------------------

    def _answer(self, agency: Agency) -> CheckResult:
        self.calls[agency] += 1
        script = self.agencies[agency]
        if script.pending is None or self.calls[agency] <= script.pending:
            raise ApplicationError(
                f"{agency} has not answered yet",
                type=errors.AGENCY_ANSWER_PENDING,
                category=ApplicationErrorCategory.BENIGN,
            )
        if script.matched:
            return CheckResult(agency=agency, matched=True)
        return CheckResult(
            agency=agency, matched=False, reason_code=script.reason_code, reason=script.reason
        )

    @activity.defn(name="check_pension_fund")
    async def check_pension_fund(self, request: AgencyCheck) -> CheckResult:
        return self._answer(Agency.PENSION_FUND)

    @activity.defn(name="check_passport")
    async def check_passport(self, request: AgencyCheck) -> CheckResult:
        return self._answer(Agency.MVD)

    @activity.defn(name="lookup_inn")
    async def lookup_inn(self, request: AgencyCheck) -> InnResult:
        result = self._answer(Agency.FNS)
        return InnResult(found=result.matched, inn="500100732259" if result.matched else None)

    # --- post and e-signature ---------------------------------------------------------

    @activity.defn(name="order_letter")
    async def order_letter(self, request: OrderLetter) -> LetterOrdered:
        if self.post_down:
            raise ApplicationError("post: 503", type=errors.TRANSIENT_FAULT)
        if request not in self.letters:
            self.letters.append(request)
        code = derive_code(SECRET, request.registration_id, Purpose.LETTER, request.sequence)
        return LetterOrdered(
            tracking_number=f"1000000000{request.sequence:04d}",
            code_hash=hash_code(SECRET, request.registration_id, Purpose.LETTER, code),
        )

    @activity.defn(name="track_letter")
    async def track_letter(self, request: TrackLetter) -> LetterStatus:
        self.calls["track_letter"] += 1
        status = "in_transit" if self.calls["track_letter"] < 3 else "arrived_at_post_office"
        return LetterStatus(status=status, description=status)

    @activity.defn(name="verify_signature")
    async def verify_signature(self, request: VerifySignature) -> SignatureCheck:
        """The scripted verdict; unless it says otherwise, the request was signed over what was
        sent (tests send the registration's challenge, or something else)."""
        assert self.signature is not None, "the test did not script the signature service"
        if self.signature.challenge is None:
            return self.signature.model_copy(update={"challenge": request.signed_request})
        return self.signature

    # --- store ------------------------------------------------------------------------

    def _write(self, name: str, request: Any, audit: AuditEntry) -> AuditEntry:
        """Keep the step once; its audit line, the result the store's activities give."""
        if audit not in self.audit:
            self.audit.append(audit)
            self.store.append((name, request))
        return audit

    @activity.defn(name="open_registration")
    async def open_registration(self, request: OpenRegistration) -> AuditEntry:
        if request.contact.address in self.taken_contacts:
            raise ApplicationError(
                "taken", type=errors.CONTACT_ALREADY_REGISTERED, non_retryable=True
            )
        return self._write("open_registration", request, request.audit)

    @activity.defn(name="record_audit")
    async def record_audit(self, request: AuditEntry) -> AuditEntry:
        if request not in self.audit:
            self.audit.append(request)
        return request

    @activity.defn(name="record_audits")
    async def record_audits(self, request: AuditBatch) -> AuditBatch:
        for entry in request.entries:
            await self.record_audit(entry)
        return request

    @activity.defn(name="activate_password")
    async def activate_password(self, request: ActivatePassword) -> AuditEntry:
        if request.registration_id not in self.staged_passwords:
            raise ApplicationError(
                "no password", type=errors.PASSWORD_NOT_STAGED, non_retryable=True
            )
        return self._write("activate_password", request, request.audit)

    @activity.defn(name="open_counter_account")
    async def open_counter_account(self, request: OpenCounterAccount) -> AuditEntry:
        if "counter" in self.taken_contacts:
            raise ApplicationError(
                "taken", type=errors.CONTACT_ALREADY_REGISTERED, non_retryable=True
            )
        return self._write("open_counter_account", request, request.audit)

    @activity.defn(name="bind_session")
    async def bind_session(self, request: BindSession) -> AuditEntry:
        return self._write("bind_session", request, request.audit)

    @activity.defn(name="save_verified_profile")
    async def save_verified_profile(self, request: SaveVerifiedProfile) -> AuditEntry:
        return self._write("save_verified_profile", request, request.audit)

    @activity.defn(name="confirm_identity")
    async def confirm_identity(self, request: ConfirmIdentity) -> AuditEntry:
        return self._write("confirm_identity", request, request.audit)

    @activity.defn(name="close_registration")
    async def close_registration(self, request: CloseRegistration) -> AuditEntry:
        return self._write("close_registration", request, request.audit)
