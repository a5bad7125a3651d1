"""Messages to the citizen from the workflow: contact codes and notices.
Workflow code: deterministic, run inside the workflow."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import MessagingActivities
    from registration import contact_code, errors
    from registration.activity_messages import Notify, SendContactCode, SendPasswordLink
    from registration.contact import Contact
    from registration.errors import Refusal
    from registration.journey import Attention, Notice
    from registration.policy import Policy
    from workflows.ledger import Ledger
    from workflows.options import BACKGROUND, INTERACTIVE, ActivityOptions
    from workflows.refusals import failure_type, refuse
    from workflows.state import RegistrationState


class Messages:
    def __init__(
        self,
        registration_id: str,
        contact: Contact,
        state: RegistrationState,
        policy: Policy,
        ledger: Ledger,
    ) -> None:
        self._id = registration_id
        self._contact = contact
        self._state = state
        self._policy = policy
        self._ledger = ledger

    async def send_code(self, options: ActivityOptions) -> datetime:
        """Send the next contact code, which replaces the last one; when it expires."""
        code, policy = self._state.code, self._policy
        sequence = code.sequence + 1
        try:
            sent = await workflow.execute_activity_method(
                MessagingActivities.send_contact_code,
                SendContactCode(registration_id=self._id, contact=self._contact, sequence=sequence),
                **options,
            )
        except ActivityError:
            # Support reads it in the current details (no command: replays need no patch).
            code.send_failed_at = workflow.now()
            self._ledger.show()
            raise
        sms = self._contact.channel == "sms"
        ttl = policy.sms_code_ttl if sms else policy.email_link_ttl
        contact_code.record_send(code, sequence, sent.code_hash, ttl, workflow.now(), policy)
        self._ledger.record("contact_code_sent", sequence=sequence)
        return workflow.now() + ttl

    async def send_requested_code(self) -> datetime:
        """`send_code` for a citizen who asked for it: refused, changing nothing, when the
        contact's budget across registrations is spent (saying when the next code may go) or
        the gateway did not take it."""
        try:
            return await self.send_code(INTERACTIVE)
        except ActivityError as error:
            if failure_type(error) == errors.CONTACT_SEND_LIMIT:
                retry_at = errors.send_limit_retry_at(
                    getattr(error.cause, "details", ()),
                    fallback=workflow.now() + self._policy.resend_cooldown,
                )
                refuse(
                    Refusal.RESEND_LIMIT,
                    "Too many codes sent to this contact: a new one can be requested at "
                    f"{retry_at:%Y-%m-%d %H:%M:%S} UTC",
                    retry_at=retry_at.isoformat(),
                )
            refuse(Refusal.DELIVERY_FAILED, "The code could not be sent: try again shortly")

    async def send_password_link(self) -> None:
        """Send the citizen of a registration made at a counter a one-time link to set their
        password (its token never enters Temporal); after a day of failures, ask support."""
        state = self._state
        state.password_links += 1
        try:
            await workflow.execute_activity_method(
                MessagingActivities.send_password_link,
                SendPasswordLink(
                    registration_id=self._id,
                    contact=self._contact,
                    sequence=state.password_links,
                    valid_for=self._policy.password_link_ttl,
                ),
                **BACKGROUND,
            )
        except ActivityError:
            workflow.logger.warning("password link not delivered", extra={"stage": state.stage})
            self._ledger.flag(Attention.NOTIFICATION_FAILED)
            return
        self._ledger.record("password_link_sent", sequence=state.password_links)

    async def notify(self, notice: Notice, key: str) -> None:
        """Tell the citizen, once per `key`; after a day of failures, ask support to look."""
        try:
            await workflow.execute_activity_method(
                MessagingActivities.notify_user,
                Notify(
                    registration_id=self._id,
                    contact=self._contact,
                    notice=notice,
                    key=f"{self._id}:{key}",
                ),
                **BACKGROUND,
            )
        except ActivityError:
            # A lost notification must not hold the journey: the portal shows the same news.
            workflow.logger.warning(
                "notification %s not delivered", notice, extra={"stage": self._state.stage}
            )
            self._ledger.flag(Attention.NOTIFICATION_FAILED)
