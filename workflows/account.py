"""The registration's account in the store, as the workflow changes it: opened, bound to the
session that proved the contact, given its password, verified, confirmed, closed.

Each change is one store activity that writes its audit line in the same transaction, so the
trail and the account never disagree. Workflow code: deterministic, run inside the workflow.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from registration import errors
    from registration.activity_messages import (
        ActivatePassword,
        BindSession,
        CloseRegistration,
        ConfirmIdentity,
        InnResult,
        OpenCounterAccount,
        OpenRegistration,
        SaveVerifiedProfile,
    )
    from registration.confirmations import Confirmation
    from registration.errors import Refusal
    from registration.journey import ConfirmationMethod, Stage
    from registration.messages import RegistrationInput
    from registration.person import Profile
    from workflows.ledger import Ledger
    from workflows.options import INTERACTIVE, STORE
    from workflows.refusals import failure_type, refuse
    from workflows.writes import write


class Account:
    def __init__(self, input: RegistrationInput, ledger: Ledger) -> None:
        self._id = input.registration_id
        self._input = input
        self._ledger = ledger

    async def open(self) -> bool:
        """Open the registration in the store; False if an account has the contact already."""
        try:
            await write(
                StoreActivities.open_registration,
                OpenRegistration(
                    registration_id=self._id,
                    contact=self._input.contact,
                    person=self._input.person,
                    audit=self._ledger.entry(
                        "registration_started",
                        self._opened_by,
                        channel=self._input.contact.channel,
                        origin=self._input.origin,
                    ),
                    counter=None if self._input.counter is None else self._input.counter.clerk,
                ),
                STORE,
            )
        except ActivityError as error:
            if failure_type(error) != errors.CONTACT_ALREADY_REGISTERED:
                raise
            return False
        return True

    @property
    def _opened_by(self) -> str:
        counter = self._input.counter
        return "system" if counter is None else f"clerk:{counter.clerk.clerk_id}"

    async def open_at_counter(self) -> bool:
        """Create the account of a registration made at a counter, without a password; False
        if an account has the contact already (made meanwhile by another registration)."""
        try:
            await write(
                StoreActivities.open_counter_account,
                OpenCounterAccount(
                    registration_id=self._id, audit=self._ledger.entry("account_opened")
                ),
                STORE,
            )
        except ActivityError as error:
            if failure_type(error) != errors.CONTACT_ALREADY_REGISTERED:
                raise
            return False
        return True

    async def bind_session(self, session_id: str, previous: str | None) -> None:
        """Record that `session_id` proved the contact, revoking the others (`previous` owned
        the registration): refused, binding nothing, if the store does not answer in time."""
        event = "session_bound" if previous is None else "session_taken_over"
        try:
            await write(
                StoreActivities.bind_session,
                BindSession(
                    registration_id=self._id,
                    session_id=session_id,
                    audit=self._ledger.entry(
                        event, "citizen", session_id=session_id, previous=previous
                    ),
                ),
                INTERACTIVE,
            )
        except ActivityError:
            refuse(Refusal.UNAVAILABLE, "The account store did not answer: enter the code again")

    async def activate_password(self, staged_id: str | None) -> None:
        """Activate the account with the password staged as `staged_id`: refused, changing
        nothing, if it was not staged, the contact has an account, or the store is down."""
        try:
            await write(
                StoreActivities.activate_password,
                ActivatePassword(
                    registration_id=self._id,
                    contact=self._input.contact,
                    person=self._input.person,
                    audit=self._ledger.entry("password_set"),
                    staged_id=staged_id,
                ),
                INTERACTIVE,
            )
        except ActivityError as error:
            if failure_type(error) == errors.PASSWORD_NOT_STAGED:
                refuse(Refusal.PASSWORD_NOT_STAGED, "No password was stored for this registration")
            if failure_type(error) == errors.CONTACT_ALREADY_REGISTERED:
                refuse(Refusal.ALREADY_FINISHED, "An account with this contact exists already")
            refuse(Refusal.UNAVAILABLE, "The account store did not answer: try again")

    async def save_verified(self, profile: Profile, inn: InnResult) -> None:
        await write(
            StoreActivities.save_verified_profile,
            SaveVerifiedProfile(
                registration_id=self._id,
                profile=profile,
                inn=inn.inn,
                audit=self._ledger.entry("verified", inn_found=inn.found),
            ),
            STORE,
        )

    async def confirm(self, confirmation: Confirmation) -> None:
        await write(
            StoreActivities.confirm_identity,
            ConfirmIdentity(
                registration_id=self._id,
                method=confirmation.method,
                # A letter-confirmed identity gets no tax-cabinet access (DOMAIN.md, seeds 000/003).
                tax_cabinet_access=confirmation.method is not ConfirmationMethod.LETTER,
                audit=self._ledger.entry(
                    "identity_confirmed",
                    confirmation.actor,
                    method=confirmation.method,
                    **confirmation.details,
                ),
            ),
            STORE,
        )

    async def close(self, outcome: Stage, event: str, actor: str, **details: Any) -> None:
        await write(
            StoreActivities.close_registration,
            CloseRegistration(
                registration_id=self._id,
                outcome=outcome,
                audit=self._ledger.entry(event, actor, **details),
            ),
            STORE,
        )
