"""The patches of the registration workflow (`workflow.patched`), with what each changed.

Registrations started weeks ago are still running: a change to the commands the workflow
issues goes behind a patch, and histories recorded before it replay the old way
(docs/versioning.md lists them by the version of the recorded histories that covers them).
Workflow code asks `taken(patch)`, not `workflow.patched(patch)`: a run started since
`EVERY_PATCH` takes every patch with that one marker.
"""

from temporalio import workflow

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

ATTESTED = "attested-signals-1"
"""Signals without a valid proof are dropped (`service/attestation.py`, the worker's
interceptor). Histories recorded before it apply them."""

ATTESTED_START = "attested-start-1"
"""A run whose input has no valid proof fails at once (`service/attestation.py`). Runs from
before it start."""

SIGNED_RESULTS = "signed-results-1"
"""Activities of the run sign their results, and the run takes only signed ones
(`service/attestation.py`). Runs recorded before it (and their activities in flight) take
results as they come."""

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

EVERY_PATCH = "every-patch-1"
"""The patches above that `COVERED` names, taken with this one marker at the start of a run
(`decide`).
Each patch marker costs an event and an upsert of Temporal's own `TemporalChangeVersion`
search attribute (the SDK's core adds it), so a new registration wrote nine of each in its
first workflow task; it now writes one. Histories recorded before it take each patch by its
own marker, as they did."""

COVERED = frozenset({LOCAL_STORE, *CLAIMED_WITH_LOCAL_STORE, SIGNED_RESULTS})
"""The patches `EVERY_PATCH` takes: those that existed when it was added, and never more
(`tests/workflows/test_patches.py` pins them: `LOCAL_STORE`, those it claims, `SIGNED_RESULTS`). A
patch added later is decided by its own marker in every run, including runs that took
`EVERY_PATCH` (they were recorded without it): `taken` asks `workflow.patched` for it.

`ATTESTED` and `ATTESTED_START` are not covered: they are asked only when a proof does not
check, and their marker records that the run decided so. Replaying a run whose proofs checked
then (with another key, say) must not decide anew; with no marker in its history, it does not."""


def decide() -> None:
    """Decide `EVERY_PATCH` for this run: called first thing in the run's first workflow task,
    so that a run recorded before it decides "no" while its first task replays (a marker at
    this point, or none), never later in a task that is not replayed."""
    every()


def every() -> bool:
    """Whether this run took `EVERY_PATCH` (the SDK remembers the decision for the run)."""
    return workflow.patched(EVERY_PATCH)


def taken(patch: str) -> bool:
    """Whether this run takes `patch`'s new way: at once for a patch `COVERED` by
    `EVERY_PATCH` in a run that took it, else by the patch's own marker (`workflow.patched`)."""
    return (patch in COVERED and every()) or workflow.patched(patch)
