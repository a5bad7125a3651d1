"""Adversarial pass: whoever reaches Temporal's frontend acts as any clerk, bank or support
member, without any token.

Actor: an unauthenticated network caller who can reach Temporal's frontend (gRPC 7233) — or
any support token holder, whom the runbook gives the `temporal` CLI and the codec server's
`/encode`. No API token is needed: the payload codec (`codec.encryption`) passes payloads that
are not `binary/encrypted` through untouched, so a plain-JSON signal or update is read by the
worker as if the API had sent it, and the workflow takes the clerk's and the support actor's
identity from the payload.

Impact: an identity is confirmed `in_person` (level `confirmed`, tax-cabinet access) by a clerk
and a service center that do not exist, with no clerk token, no expiry, no API audit; the
audit trail names the forged clerk. Any registration can be cancelled "by support" under any
name. Registration ids are listed by `temporal workflow list` with the search attributes
(`RegistrationStage = "identity_confirmation"`).

Suggested fix: the worker's codec refuses unencrypted payloads on workflow inputs (signals,
updates, starts), so only holders of the payload keys (API, worker) can speak to a
registration; retire the legacy `clerk_confirmation`/`bank_confirmation` signals (patch them to
no-ops); and do not let the workflow trust actor ids from its input without proof (e.g. the
API records the confirmation request in PostgreSQL with the token's client id, and the
workflow's activity checks it), plus Temporal authorization (mTLS, an authorizer) documented in
docs/security.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

import httpx
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter, PayloadCodec

from service.registrations import Registrations
from settings import Settings
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.security.conftest import keyless_client

DOCUMENTS = {"passport_series": "4512", "passport_number": "345678", "snils": "112-233-445 95"}


async def settled_state(citizen: Citizen, *, until: str) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for _ in range(30):
        state = (await citizen.call("GET", "")).json()
        if state["stage"] == until:
            break
        await asyncio.sleep(0.1)
    return state


async def test_a_plain_json_clerk_signal_does_not_confirm_an_identity(
    http: httpx.AsyncClient,
    tokens: Tokens,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()

    forged = {"clerk_id": "cl_nobody", "service_center_id": "mfc-forged"} | DOCUMENTS
    client = await keyless_client(stack_settings)
    await client.get_workflow_handle(citizen.id).signal("clerk_confirmation", forged)

    state = await settled_state(citizen, until="confirmed")
    trail = await http.get(
        f"/v1/support/registrations/{citizen.id}/audit", headers=bearer(tokens.support)
    )
    actors = {line["actor"] for line in trail.json()["lines"]}
    assert state["stage"] == "identity_confirmation", (
        f"a token-less plain-JSON signal confirmed the identity: {state['stage']}, "
        f"{state['identity_confirmed_by']}"
    )
    assert "clerk:cl_nobody" not in actors


async def test_a_plain_json_update_cannot_cancel_a_citizen_s_registration_as_support(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]

    client = await keyless_client(stack_settings)
    handle = client.get_workflow_handle(citizen.id)
    # The answer is encrypted, so this client cannot read it: whether the update was applied
    # is read from the registration itself.
    with contextlib.suppress(Exception):
        await handle.execute_update(
            "cancel", {"actor": "support:cl_someone_else", "reason": "forged"}
        )

    state = await settled_state(citizen, until="cancelled")
    assert state["stage"] == "password", (
        f"a token-less plain-JSON update cancelled the registration: {state['stage']}"
    )


class Undecryptable(PayloadCodec):
    """Payloads that claim to be this project's ciphertext and are not."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        metadata = {"encoding": b"binary/encrypted", "encryption-key-id": b"k-0000"}
        return [Payload(metadata=metadata, data=b"\0" * 40) for _ in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


async def test_one_undecryptable_signal_does_not_wedge_a_registration(
    http: httpx.AsyncClient,
    outbox: SimulatorControl,
    fresh_portal: str,
    stack_settings: Settings,
    registrations: Registrations,
) -> None:
    """Same actor, no key either: one signal whose payload claims to be ciphertext makes the
    worker's codec fail the workflow task, again on every retry. The registration answers 503
    to every step and query from then on, its timers never fire, and nothing but a support
    reset brings it back: a permanent denial of service of any registration, one RPC each.
    Suggested fix: as above, Temporal authorization so that only the API and the worker may
    signal or update; signals and updates whose input does not decode are dropped or refused,
    never a failed workflow task."""
    citizen = Citizen(http, fresh_portal, outbox)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]

    converter = dataclasses.replace(DataConverter.default, payload_codec=Undecryptable())
    client = await Client.connect(
        stack_settings.temporal_address,
        namespace=stack_settings.temporal_namespace,
        data_converter=converter,
    )
    await client.get_workflow_handle(citizen.id).signal("clerk_confirmation", {"x": 1})
    await asyncio.sleep(2.0)

    try:
        state = await citizen.call("GET", "")
        assert state.status_code == 200, f"the registration no longer answers: {state.text}"
    finally:
        # A wedged workflow would retry its task for the rest of the session's stack.
        with contextlib.suppress(Exception):
            await registrations.client.get_workflow_handle(citizen.id).terminate("test over")
