"""Eighth adversarial pass (HIGH): a namespace writer completes our activities with results of
their choosing, and so confirms an identity through a forged e-signature verdict.

Actor: anyone who can write to the Temporal namespace without our keys (docs/security.md: they
"cannot confirm an identity"), together with the person registering (e.g. someone registering
an account in another person's name with that person's passport and SNILS data, on their own
phone: the identity-confirmation step exists to stop exactly that).

Impact: proofs (`service/attestation.py`) now cover starts, signals, updates and activity
INPUTS, but not activity RESULTS. Temporal lets any namespace writer complete (or fail) a
running activity by its id (`RespondActivityTaskCompletedById`, the SDK's
`get_async_activity_handle(workflow_id, run_id, activity_id).complete(...)`), or take the
activity task itself by polling our task queue. The activity id, type and run are in clear in
history and in `describe` (pending activities). The result is a plaintext JSON payload, which
the worker's codec lets through. So while `verify_signature` runs (the e-signature service takes
its time; here a "slow" e-signature answer makes the window deterministic, a writer watching
history needs none), the writer completes it with `SignatureCheck(valid=True, challenge=<the
registration's challenge, shown in the owner's view>, snils/surname/name=<the profile's>)`: the
workflow takes it and the registration is CONFIRMED (tax-cabinet access) although the signature
the partner relayed was another person's. The same forges `CheckResult(matched=True)` for the
agency checks (a made-up passport passes MVD) and `LetterStatus`, and completing
`bind_session`/`confirm_identity`/`close_registration` by id makes the workflow believe a store
write that never happened.

Suggested fix: prove activity results too: `_VerifyingActivity` returns the result together with
an HMAC (key derived from the attestation key) over workflow id, run id, activity id, attempt
and the canonical result (e.g. a wrapper model or a result header carried in the payload
metadata), and `_AttestingContinuation.start_activity` wraps the handle so the workflow refuses
(fails the activity / the step as "unavailable") any result without a valid proof; refuse
plaintext payloads on the worker for runs recorded after encryption (a patch); and give the
workers a Temporal identity that alone may poll and complete tasks on their task queue.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError

from registration.journey import Level
from settings import Settings
from simulators.control import SimulatorControl
from simulators.esign import make_signed_request
from store import repository
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.data import PROFILE
from tests.security.conftest import keyless_client, running_activity


async def test_a_namespace_writer_cannot_forge_an_e_signature_verdict(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    store_engine: AsyncEngine,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()  # the victim's data, verified by the agencies
    challenge = (await citizen.call("GET", "")).json()["signature_challenge"]
    assert challenge, "the owner's view shows the challenge to sign"
    # What the citizen's browser really signed: the challenge, with the ATTACKER's own
    # certificate (another person). Honestly judged, it is refused as another person's.
    signed = make_signed_request(
        snils="12345678964", surname="Сидоров", name="Пётр", challenge=challenge
    )
    writer = await keyless_client(stack_settings)
    await outbox.inject_fault("esignature", "slow", count=10, delay_seconds=4)
    try:
        submitted = asyncio.create_task(
            http.post(
                f"/v1/partners/esignature/registrations/{citizen.id}/confirmation",
                json={"signed_request": signed},
                headers=bearer(tokens.esignature),
            )
        )
        run_id, activity_id = await running_activity(writer, citizen.id, "verify_signature")
        forged = {
            "valid": True,
            "snils": PROFILE.snils,
            "surname": PROFILE.surname,
            "name": PROFILE.name,
            "patronymic": PROFILE.patronymic,
            "challenge": challenge,
        }
        with contextlib.suppress(RPCError):  # refused: the activity was no longer running
            await writer.get_async_activity_handle(
                workflow_id=citizen.id, run_id=run_id, activity_id=activity_id
            ).complete(forged)
        answer = await submitted
    finally:
        await outbox.clear_faults("esignature")
    account = await repository.get_account_for_registration(store_engine, citizen.id)
    assert account is not None
    assert answer.status_code != 200 or answer.json().get("confirmed") is not True, (
        "a namespace writer completed verify_signature by id with a made-up verdict: the "
        f"partner's relay of another person's signature answered {answer.text}, account level "
        f"{account.level}"
    )
    assert account.level is not Level.CONFIRMED, (
        f"the account of {citizen.id} is CONFIRMED by a forged e-signature verdict"
    )
