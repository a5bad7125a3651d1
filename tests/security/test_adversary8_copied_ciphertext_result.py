"""Eighth adversarial pass (HIGH): a namespace writer proves a phone they do not hold, by handing
our own encrypted code entry back to the workflow as the result of `send_contact_code`.

Actor: someone who knows only a phone number, with write access to the Temporal namespace and
none of our keys (no payload key, no attestation key, no code secret).

Impact: an activity's result is not bound to the activity it answers. The codec's AEAD binds a
ciphertext only to its key id, every message model ignores unknown fields, and Temporal lets any
namespace writer complete a started activity by id with any payloads. The attacker starts a
registration for the victim's phone and, before the first code's send has finished, types a
code they chose ("000000"): the API turns it into `SubmitCode{code_hash=H(reg, sms,
"000000"), session_id}` and the update is accepted (it waits for the first send) — its
ENCRYPTED argument is now in history. The writer completes the running `send_contact_code` by
id with exactly that ciphertext: it decrypts under our key and validates as
`SentCode{code_hash=H(reg, sms, "000000")}`, so the code just typed is the "sent" code and the
waiting entry is accepted: the attacker's session owns a registration of a phone they never
held. (They then register an account on the victim's phone, which locks the victim out of
registering: "an account with this phone exists already". The same copy after a join takes
over the victim's RUNNING registration while its password is not yet set: join, wait out the
60 s resend cooldown twice, wrong code, new code completed with that entry's ciphertext, the
same code again: the victim's session is revoked and the attacker sets the password of an
account on the victim's phone, `test_a_namespace_writer_cannot_take_over_a_running_registration`.)
Refusing plaintext payloads would not stop this: the payload
is our own ciphertext. A slow SMS gateway makes the window deterministic here; a writer who polls
our task queue for the activity task itself needs no window at all.

Suggested fix: bind activity results to their activity: the activity interceptor returns the
result with an HMAC (key derived from the attestation key) over workflow id, run id, activity
id, activity type and the canonical result, and the workflow's outbound interceptor refuses a
result without it; and/or encrypt with associated data naming the payload's role (workflow id,
"result of <activity type>" vs "update arg of <handler>"), so a ciphertext cannot change role;
forbid extra fields on messages whose histories all carry the new fields; give the workers a
Temporal identity that alone may poll and complete tasks on their queue.
"""

from __future__ import annotations

import asyncio

import httpx
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import RespondActivityTaskCompletedByIdRequest
from temporalio.client import Client
from temporalio.service import RPCError

from registration.contact import Channel, Contact
from service.registrations import registration_id_for
from settings import Settings
from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.security.conftest import keyless_client, running_activity


async def _accepted_update_input(writer: Client, workflow_id: str) -> Payloads:
    """The (encrypted) argument of the first update history shows as accepted."""
    for _ in range(200):
        handle = writer.get_workflow_handle(workflow_id)
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                attributes = event.workflow_execution_update_accepted_event_attributes
                return attributes.accepted_request.input.args
        await asyncio.sleep(0.05)
    raise AssertionError(f"no update of {workflow_id} was accepted")


async def test_a_namespace_writer_cannot_make_a_typed_code_the_sent_one(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    """The portal's start answers only once its first code is sent (update-with-start), so
    no session exists to type a code with while that send runs. The writer completes the
    running send with the one ciphertext of ours this registration's history holds (the
    start's own update), and the code the attacker then chooses is not the sent one."""
    attacker = Citizen(http, fresh_portal, outbox)  # the victim's phone, not the attacker's
    writer = await keyless_client(stack_settings)
    contact = Contact(channel=Channel.SMS, address=attacker.phone)
    # The id, as only the service can work it out (the writer could list running ones).
    rid = registration_id_for(stack_settings.code_secret_bytes, contact, 1)
    # Several: a send of an earlier test's registration may take one first.
    await outbox.inject_fault("sms-gateway", "slow", count=10, delay_seconds=5)
    try:
        starting = asyncio.create_task(attacker.start())
        run_id, activity_id = await running_activity(writer, rid, "send_contact_code")
        assert not starting.done(), "the start answered before its first code was sent"
        ours = await _accepted_update_input(writer, rid)
        assert ours.payloads[0].metadata.get("encoding") == b"binary/encrypted"
        try:
            await writer.workflow_service.respond_activity_task_completed_by_id(
                RespondActivityTaskCompletedByIdRequest(
                    namespace=stack_settings.temporal_namespace,
                    workflow_id=rid,
                    run_id=run_id,
                    activity_id=activity_id,
                    result=ours,
                    identity="namespace-writer",
                )
            )
        except RPCError:
            pass  # refused: nothing forged
        assert (await starting).status_code == 201
        verdict = await attacker.call("POST", "/contact-code", {"code": "000000"})
    finally:
        await outbox.clear_faults("sms-gateway")
    assert verdict.status_code != 200 or verdict.json().get("accepted") is not True, (
        "a code the attacker chose was accepted for a phone they do not hold: " + verdict.text
    )
    view = await attacker.call("GET", "")
    assert view.json().get("stage") == "contact_confirmation", view.text


async def _last_code_entry(writer: Client, workflow_id: str) -> Payloads:
    """The (encrypted) argument of the newest `submit_contact_code` history shows as accepted."""
    found = None
    async for event in writer.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == "submit_contact_code":
                found = request.input.args
    assert found is not None, f"no code entry of {workflow_id} in history"
    return found


async def test_a_namespace_writer_cannot_take_over_a_running_registration(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    """The same copy aimed at a victim's running registration (the contact proven, the next
    step not yet taken; once a password is set, a start for the phone is "log in instead"):
    join it, wait out the resend cooldown and ask for a code (it goes to the victim), type a
    wrong code (its ciphertext is in history), wait out the resend cooldown,
    ask for a new code and complete its send with that ciphertext, type the same code again:
    the attacker's session owns the victim's registration (the victim's is revoked)."""
    victim = Citizen(http, fresh_portal, outbox)
    assert (await victim.start()).status_code == 201
    assert (await victim.confirm_contact()).json()["accepted"] is True
    attacker = Citizen(http, fresh_portal, outbox, phone=victim.phone)
    assert (await attacker.start()).status_code == 201  # joins, with a session of its own
    assert attacker.id == victim.id
    await asyncio.sleep(62)  # the resend cooldown since the victim's code (the join sent none)
    first = await attacker.call("POST", "/contact-code/resend")  # a code the victim gets
    assert first.status_code == 200, first.text
    wrong = await attacker.call("POST", "/contact-code", {"code": "000000"})
    assert wrong.status_code == 200 and wrong.json()["accepted"] is False, wrong.text
    writer = await keyless_client(stack_settings)
    typed = await _last_code_entry(writer, victim.id)
    await asyncio.sleep(62)  # the resend cooldown (60 s) since that code
    # Several: a send of an earlier test's registration may take one first.
    await outbox.inject_fault("sms-gateway", "slow", count=10, delay_seconds=5)
    try:
        resend = asyncio.create_task(attacker.call("POST", "/contact-code/resend"))
        run_id, activity_id = await running_activity(writer, victim.id, "send_contact_code")
        try:
            await writer.workflow_service.respond_activity_task_completed_by_id(
                RespondActivityTaskCompletedByIdRequest(
                    namespace=stack_settings.temporal_namespace,
                    workflow_id=victim.id,
                    run_id=run_id,
                    activity_id=activity_id,
                    result=typed,
                    identity="namespace-writer",
                )
            )
        except RPCError:
            pass  # refused: nothing forged
        # Refused (503, not applied) when the forged result is refused; else the real send.
        assert (await resend).status_code in (200, 503)
    finally:
        await outbox.clear_faults("sms-gateway")
    verdict = await attacker.call("POST", "/contact-code", {"code": "000000"})
    view = await attacker.call("GET", "")
    assert verdict.json().get("accepted") is not True, (
        f"the attacker took over the victim's registration {victim.id} with a code they typed "
        f"themselves: {verdict.text}; their view now: {view.text[:300]}"
    )
