"""Registration from scratch at a service-center counter: who may take its steps, and the
confirmation it ends with.

A person with a passport and SNILS and no online registration comes to the counter. The clerk
enters the name, the contact and the whole profile from the documents; the citizen reads out
the code sent to their phone (the contact is proven); the agencies check the profile as
usual; when they agree, the account is confirmed at once, by the clerk's center
(`ConfirmationMethod.SERVICE_CENTER`): the clerk saw the documents. The citizen sets their own
password later through a one-time link; the clerk never sees it.

So every step of such a registration comes from a clerk of the registering center, never
from a citizen session: whoever holds the phone could otherwise correct the profile to
someone else's and have it confirmed "in person" without a clerk having seen any document.
Pure: each function raises `StepRefused` when the step may not be taken.
"""

from __future__ import annotations

from registration.confirmations import Confirmation
from registration.errors import Refusal, StepRefused
from registration.journey import ConfirmationMethod
from registration.messages import CounterClerk, CounterStart


def require_counter(started: CounterStart | None, clerk: CounterClerk | None) -> None:
    """A counter registration's step comes from a clerk of its center; a portal
    registration's step from no clerk at all."""
    if started is None:
        if clerk is not None:
            raise StepRefused(
                Refusal.WRONG_STAGE,
                "This registration was started online: the citizen takes its steps",
            )
        return
    if clerk is None:
        raise StepRefused(
            Refusal.AT_SERVICE_CENTER,
            "This registration is being made at a service center: it continues there",
        )
    if clerk.service_center_id != started.clerk.service_center_id:
        raise StepRefused(
            Refusal.AT_SERVICE_CENTER,
            "This registration is being made at another service center: it continues there",
        )


def confirmation(started: CounterStart) -> Confirmation:
    """The confirmation a counter registration ends with once the agencies agree: by the
    clerk who registered the person, in their center."""
    return Confirmation(
        method=ConfirmationMethod.SERVICE_CENTER,
        actor=f"clerk:{started.clerk.clerk_id}",
        details={"service_center_id": started.clerk.service_center_id},
    )
