"""The patches of the registration workflow (`workflow.patched`), with what each changed.

Registrations started weeks ago are still running: a change to the commands the workflow
issues goes behind a patch, and histories recorded before it replay the old way
(docs/versioning.md lists them by the version of the recorded histories that covers them).
"""

SESSIONS = "sessions-1"
"""A contact code entered from a citizen session binds that session (store activity
`bind_session`) before it is accepted. Histories recorded before it bind nothing."""

CONFIRMATION_LIMITS = "confirmations-1"
"""Clerk and bank signals are judged only when a confirmation is due (else ignored, nothing
written); refusals are counted, the last few kept, and too many lock confirmation and flag it
for support; partners hear only that the data do not confirm the registration. Histories
recorded before it list every refusal, at any stage, naming the fields."""

SUPPORT_VIEW = "support-view-1"
"""Search attributes are also published between stage changes (pending agencies, method,
letters, attention). Histories recorded before it publish at stage changes only."""

SIGNATURE_CHALLENGE = "signature-challenge-1"
"""An e-signature confirms only when it is over the registration's current challenge (issued
on entering the identity stage). Histories recorded before it accept any signature of the right
person."""

COUNTER = "counter-1"
"""A registration made at a service-center counter (`RegistrationInput.counter`): the proven
contact leads straight to the clerk's profile being verified, and agreeing agencies confirm
the account at once (`open_counter_account`, then `send_password_link`). Portal registrations,
and every history recorded before it, never take this path."""

PORTAL_EVENTS = "portal-events-1"
"""Each stage change of a registration started with `policy.portal_events` is sent to the
portal by webhook: activity `deliver_portal_events`, started as the ledger writes and awaited
before continue-as-new and the end. Registrations without it, and every history recorded
before it, send none."""

LOCAL_STORE = "local-store-1"
"""Store writes run as local activities (`workflows.writes`): no activity task of their own on
the server and no workflow task for their answer; and the audit lines a step queues are written
together by one `record_audits`. Histories recorded before it ran each write as an activity and
wrote the lines one by one (`record_audit`)."""

EXACT_DEADLINE = "exact-deadline-1"
"""When Temporal stops retrying an agency early (the next backoff would pass the deadline), a
durable timer waits for one last attempt that ends at the deadline itself. Histories recorded
before it give up at Temporal's timeout."""

CLAIMED_WITH_LOCAL_STORE = (
    SESSIONS,
    CONFIRMATION_LIMITS,
    SUPPORT_VIEW,
    SIGNATURE_CHALLENGE,
    COUNTER,
    PORTAL_EVENTS,
    EXACT_DEADLINE,
)
"""The patches a run claims as soon as it takes `LOCAL_STORE` (`workflows.writes.local`), so
that no patch marker of theirs follows a local activity's answer in the same workflow task:
Temporal's core cannot replay that order ("patch marker encountered … but there is no
corresponding change command"). A run that takes them all at once takes each as it would have
later: the new way."""
