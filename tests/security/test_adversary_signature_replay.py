"""Adversarial pass: one signed confirmation request confirms any registration of its signer.

Actor: whoever holds a signed request a person once made (the e-signature service, the
portal, a log, a proxy, or the person's own earlier registration), and can have it submitted
by the e-signature partner — which relays what the citizen's browser signed. Combined with a
registration made with a person's documents on the attacker's own phone (SNILS is not unique
per account, store/schema.py), the attacker's registration is confirmed in the person's name,
with tax-cabinet access.

The signed request carries the signer's SNILS and name and a nonce, but nothing that names the
registration or a challenge the workflow issued, and nothing remembers a nonce: the workflow
compares only the certificate's owner with the profile (`compare_certificate`).

Suggested fix: the workflow issues a challenge (registration id plus a random nonce, kept in
its state) that the citizen signs; the verification must return the signed content, and the
workflow accepts a signature only over its own current challenge, once.
"""

from __future__ import annotations

import asyncio

import httpx

from simulators.control import SimulatorControl
from simulators.esign import make_signed_request
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer


async def test_a_signed_request_confirms_only_the_registration_it_was_made_for(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, fresh_portal: str
) -> None:
    first, second = Citizen(http, fresh_portal, outbox), Citizen(http, fresh_portal, outbox)
    await asyncio.gather(first.reach_identity_stage(), second.reach_identity_stage())
    # What the portal had the person sign for the first registration: its challenge.
    challenge = (await first.call("GET", "")).json()["signature_challenge"]
    signed = make_signed_request(
        snils="11223344595", surname="Иванова", name="Мария", challenge=challenge
    )

    async def submit(citizen: Citizen) -> httpx.Response:
        return await http.post(
            f"/v1/partners/esignature/registrations/{citizen.id}/confirmation",
            json={"signed_request": signed},
            headers=bearer(tokens.esignature),
        )

    made_for = await submit(first)
    assert made_for.json()["confirmed"] is True, made_for.text
    replayed = await submit(second)
    assert replayed.status_code != 200 or replayed.json()["confirmed"] is False, (
        "the same signed request confirmed a second registration: " + replayed.text
    )
