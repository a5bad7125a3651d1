"""Eighth adversarial pass: regression guards (these pass today).

- The e-signature test of `test_adversary8_forged_activity_result` means something only if the
  same relayed signature, honestly verified, is refused: it is another person's certificate.
- A namespace writer without keys who queries a registration gets only ciphertext: the
  workflow's answers carry no personal data in clear.
"""

from __future__ import annotations

import httpx
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest

from settings import Settings
from simulators.control import SimulatorControl
from simulators.esign import make_signed_request
from tests.api.conftest import Tokens
from tests.citizens import Citizen, bearer
from tests.data import PROFILE
from tests.security.conftest import keyless_client


async def test_another_persons_signature_over_the_challenge_is_refused(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl, fresh_portal: str
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    challenge = (await citizen.call("GET", "")).json()["signature_challenge"]
    signed = make_signed_request(
        snils="12345678964", surname="Сидоров", name="Пётр", challenge=challenge
    )
    answer = await http.post(
        f"/v1/partners/esignature/registrations/{citizen.id}/confirmation",
        json={"signed_request": signed},
        headers=bearer(tokens.esignature),
    )
    assert answer.status_code == 200 and answer.json()["confirmed"] is False, answer.text


async def test_a_keyless_query_answer_is_ciphertext(
    http: httpx.AsyncClient, outbox: SimulatorControl, fresh_portal: str, stack_settings: Settings
) -> None:
    citizen = Citizen(http, fresh_portal, outbox)
    await citizen.reach_identity_stage()
    writer = await keyless_client(stack_settings)
    answer = await writer.workflow_service.query_workflow(
        QueryWorkflowRequest(
            namespace=stack_settings.temporal_namespace,
            execution=WorkflowExecution(workflow_id=citizen.id),
            query=WorkflowQuery(query_type="state"),
        )
    )
    for payload in answer.query_result.payloads:
        assert payload.metadata.get("encoding") == b"binary/encrypted", payload.metadata
        assert PROFILE.surname.encode() not in payload.data
        assert citizen.phone.encode() not in payload.data
