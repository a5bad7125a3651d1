"""What a registration writes down as it goes: its stage, its audit trail, the search
attributes support filters by, and the plain-words details the Temporal UI shows.

Handlers must answer fast, so they only queue audit lines (`record`); the main loop writes
them (`flush`) as the journey waits. Leaving a stage records the time spent in it through the
SDK's metric meter, which issues no command and records nothing while a history replays.
Workflow code: deterministic, run inside the workflow.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from metrics.sdk import STAGE_DURATION
    from registration.activity_messages import AuditEntry
    from registration.contact import Channel
    from registration.journey import Agency, Attention, Stage
    from registration.messages import Rejection
    from registration.policy import Policy
    from workflows import search_attributes as search
    from workflows.details import describe
    from workflows.options import STORE
    from workflows.patches import SUPPORT_VIEW
    from workflows.state import RegistrationState


class Ledger:
    def __init__(
        self, registration_id: str, channel: Channel, state: RegistrationState, policy: Policy
    ) -> None:
        self._id = registration_id
        self._channel = channel
        self._state = state
        self._policy = policy

    def enter(
        self,
        stage: Stage,
        event: str | None = None,
        *,
        attention: Attention | None = None,
        **details: Any,
    ) -> None:
        """Move to `stage`: a new stage starts with a clean slate for support (`attention`)."""
        left, since = self._state.stage, self._state.stage_entered_at
        self._state.stage = stage
        self._state.stage_entered_at = workflow.now()
        if stage is not left:
            _time_in_stage(left, (workflow.now() - since).total_seconds())
        self._state.attention = attention
        self.publish()
        if event is not None:
            self.record(event, **details)

    def reject(self, code: str, message: str, agency: Agency | None = None) -> None:
        """Why the registration was sent back or refused (by which agency, when one said so),
        as the portal, support and the clerk who registered the person see it."""
        self._state.last_rejection = Rejection(
            code=code, message=message, at=workflow.now(), agency=agency
        )

    def flag(self, attention: Attention) -> None:
        """Ask for a person's look (until the registration moves on)."""
        self._state.attention = attention
        self.publish_change()

    def publish(self) -> None:
        """Bring the search attributes and the UI's current details in step with the state."""
        current = workflow.info().typed_search_attributes
        workflow.upsert_search_attributes(search.updates(self._state, current))
        self.show()

    def publish_change(self) -> None:
        """Publish a change between stages (registrations from before the patch did not)."""
        if workflow.patched(SUPPORT_VIEW):
            self.publish()
        else:
            self.show()

    def show(self) -> None:
        """The registration in plain words, as the Temporal UI's current details."""
        workflow.set_current_details(
            describe(self._state, self._channel, self._policy, workflow.now())
        )

    def entry(self, event: str, actor: str = "system", **details: Any) -> AuditEntry:
        """The next audit line, for an activity that writes it with its own change."""
        self._state.audit_seq += 1
        return AuditEntry(
            registration_id=self._id,
            seq=self._state.audit_seq,
            event=event,
            stage=self._state.stage,
            actor=actor,
            details=details,
        )

    def record(self, event: str, actor: str = "system", **details: Any) -> None:
        """Queue an audit line; the main loop writes it (`flush`)."""
        self._state.audit_outbox.append(self.entry(event, actor, **details))
        self.show()

    @property
    def pending(self) -> bool:
        """Audit lines are waiting to be written."""
        return bool(self._state.audit_outbox)

    async def flush(self) -> None:
        """Write the queued audit lines, oldest first; each leaves the queue once written."""
        while self._state.audit_outbox:
            await workflow.execute_activity_method(
                StoreActivities.record_audit, self._state.audit_outbox[0], **STORE
            )
            self._state.audit_outbox.pop(0)


def _time_in_stage(stage: Stage, seconds: float) -> None:
    workflow.metric_meter().create_histogram_float(
        STAGE_DURATION, "Time a registration spent in a stage, by the stage it left", "s"
    ).record(seconds, {"stage": stage.value})
