"""What a registration writes down as it goes: its stage, its audit trail, the search
attributes support filters by, and the plain-words details the Temporal UI shows.

Handlers must answer fast, so they only queue audit lines (`record`) and the portal's events
(each stage change, `PORTAL_EVENTS`); the main loop writes and sends them (`flush`) as the
journey waits. Leaving a stage records the time spent in it through the
SDK's metric meter, which issues no command and records nothing while a history replays.
Workflow code: deterministic, run inside the workflow.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityHandle

with workflow.unsafe.imports_passed_through():
    from activities.portal import PortalActivities
    from activities.store import StoreActivities
    from metrics.sdk import STAGE_DURATION
    from registration.activity_messages import AuditBatch, AuditEntry, DeliverEvents, PortalEvent
    from registration.contact import Channel
    from registration.journey import Agency, Attention, Stage
    from registration.messages import Rejection
    from registration.policy import Policy
    from workflows import search_attributes as search
    from workflows import writes
    from workflows.details import describe
    from workflows.options import PORTAL, STORE
    from workflows.patches import PORTAL_EVENTS, SUPPORT_VIEW, taken
    from workflows.state import RegistrationState


class Ledger:
    def __init__(
        self, registration_id: str, channel: Channel, state: RegistrationState, policy: Policy
    ) -> None:
        self._id = registration_id
        self._channel = channel
        self._state = state
        self._policy = policy
        self._deliveries: list[ActivityHandle[None]] = []
        """Webhook deliveries started and not yet awaited (`delivered`)."""

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
        if stage is not left:
            self._announce()
        if event is not None:
            self.record(event, **details)

    def _announce(self) -> None:
        """Queue the stage change for the portal's webhook (patch `PORTAL_EVENTS`)."""
        state = self._state
        if not self._policy.portal_events or not taken(PORTAL_EVENTS):
            return
        state.events_sent += 1
        state.events_outbox.append(
            PortalEvent(
                id=f"{self._id}/{state.events_sent}",
                occurred_at=workflow.now(),
                registration_id=self._id,
                stage=state.stage,
                level=state.level,
                method=state.method,
            )
        )

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
        if taken(SUPPORT_VIEW):
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
        """Audit lines are waiting to be written, or events to be handed to the portal."""
        return bool(self._state.audit_outbox or self._state.events_outbox)

    async def delivered(self) -> None:
        """Hand queued events to the portal and wait until every delivery is done: before
        continue-as-new (a new run would drop them) and before the end."""
        self._deliver()
        while self._deliveries:
            try:
                await self._deliveries.pop(0)
            except ActivityError:
                # Only a portal that refuses the event itself gets here (4xx): it was told,
                # and said no; support is asked to look.
                workflow.logger.warning(
                    "the portal refused an event", extra={"stage": self._state.stage}
                )
                self.flag(Attention.NOTIFICATION_FAILED)

    def _deliver(self) -> None:
        """Start delivering the queued events, without waiting: Temporal retries the delivery
        until the portal takes it, and the journey goes on meanwhile."""
        outbox = self._state.events_outbox
        if not outbox:
            return
        self._deliveries.append(
            workflow.start_activity_method(
                PortalActivities.deliver_events, DeliverEvents(events=list(outbox)), **PORTAL
            )
        )
        outbox.clear()

    async def flush(self) -> None:
        """Hand queued events to the portal; write the queued audit lines, oldest first (the
        lines written leave the queue; handlers may queue more meanwhile)."""
        self._deliver()
        outbox = self._state.audit_outbox
        if outbox and writes.local():
            while outbox:
                batch = AuditBatch(entries=list(outbox))
                await writes.write(StoreActivities.record_audits, batch)
                del outbox[: len(batch.entries)]
            return
        while outbox:  # histories from before patch LOCAL_STORE: one activity per line
            await workflow.execute_activity_method(StoreActivities.record_audit, outbox[0], **STORE)
            outbox.pop(0)


def _time_in_stage(stage: Stage, seconds: float) -> None:
    workflow.metric_meter().create_histogram_float(
        STAGE_DURATION, "Time a registration spent in a stage, by the stage it left", "s"
    ).record(seconds, {"stage": stage.value})
