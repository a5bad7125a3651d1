"""The support runbook (README), step by step, on the real local stack (`gosreg stack`) with the
real `temporal` CLI: find a registration waiting on an agency, read its stage in plain words,
decode its payloads through the codec server with a support token, retry the check with one
CLI command, find that in the audit trail — while Temporal's own database file holds no
personal data, and neither do the stack's logs.

The stack is the support package's (`tests/support/conftest.py`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client

from registration.journey import Stage
from service.support import ui_filters
from simulators.control import SimulatorControl
from tests.journeys import PASSWORD
from tests.running_stack import LocalStack, Person, reach_verification, unique_word, wait_until
from tests.waiting import wait_for


def leaks(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    return [label for label, needle in needles.items() if needle in blob]


def standalone(code: str, blob: bytes) -> bool:
    """Whether `code` appears as a word of its own (not inside a hex id or a number)."""
    return (
        re.search(rb"(?<![0-9A-Za-z])" + re.escape(code.encode()) + rb"(?![0-9A-Za-z])", blob)
        is not None
    )


async def test_support_runbook_on_the_running_stack(
    stack: LocalStack, tokens: dict[str, str]
) -> None:
    person = Person.new()
    portal = {"Authorization": f"Bearer {tokens['portal']}"}
    async with (
        httpx.AsyncClient(base_url=stack.api, headers=portal, timeout=30) as api,
        SimulatorControl(stack.simulators) as simulators,
    ):
        # A citizen reaches verification; the Pension Fund is slow, MVD answers at once.
        rid, code = await reach_verification(api, simulators, person)

        # 1. The UI filter "waiting on an agency for more than 1 hour", pasted into the CLI.
        #    Visibility takes absolute times: an hour from now, this registration matches.
        later = datetime.now(UTC) + timedelta(hours=1, minutes=5)
        waiting_query = ui_filters(later)["Waiting on an agency for more than 1 hour"]
        now_query = ui_filters(datetime.now(UTC))["Waiting on an agency for more than 1 hour"]

        def listed(query: str) -> list[str]:
            found = stack.temporal_cli("workflow", "list", "--query", query, "-o", "json")
            assert found.returncode == 0, found.stderr
            return [row["execution"]["workflowId"] for row in json.loads(found.stdout or "[]")]

        await wait_until(lambda: rid in listed(waiting_query), "the registration in the filter")
        assert rid not in listed(now_query), "it has not been waiting an hour yet"

        reports: list[str] = []

        def reported() -> bool:
            reports.append(stack.gosreg("stuck", "--stage", "verification", "--hours", "0.001"))
            return rid in reports[-1]

        await wait_until(reported, "the registration in `gosreg stuck`")
        report = reports[-1]
        assert "waiting on pension_fund" in report, report
        assert "check_pension_fund: attempt 2, next retry in" in report, report
        assert f"{stack.codec}/namespaces/registrations/workflows/{rid}" in report, "the desk"

        # 2. The stage in plain words: the workflow's current details (decoded for support).
        details = stack.temporal_cli("workflow", "metadata", "-w", rid, token=tokens["support"])
        assert details.returncode == 0, details.stderr
        assert "Waiting for the Pension Fund answer since" in details.stdout, details.stdout
        assert "retry_checks" in details.stdout

        # 3. Payloads decode through the codec server for support only.
        show = ("workflow", "show", "-w", rid, "-o", "json")
        decoded = stack.temporal_cli(*show, token=tokens["support"])
        assert decoded.returncode == 0, decoded.stderr
        start_input = json.loads(decoded.stdout)["events"][0][
            "workflowExecutionStartedEventAttributes"
        ]["input"]["payloads"][0]
        assert base64.b64decode(start_input["metadata"]["encoding"]) == b"json/plain"
        assert person.surname in base64.b64decode(start_input["data"]).decode(), "support reads it"
        raw = stack.temporal_cli(*show)
        raw_input = json.loads(raw.stdout)["events"][0]["workflowExecutionStartedEventAttributes"][
            "input"
        ]["payloads"][0]
        assert base64.b64decode(raw_input["metadata"]["encoding"]) == b"binary/encrypted"
        portal_try = stack.temporal_cli(*show, token=tokens["portal"])
        assert person.surname not in portal_try.stdout
        async with httpx.AsyncClient(timeout=10) as http:
            anonymous = await http.post(f"{stack.codec}/decode", json={"payloads": [raw_input]})
            assert anonymous.status_code == 401 and person.surname not in anonymous.text
            settings = (await http.get(f"{stack.ui}/api/v1/settings")).json()
            assert settings["Codec"]["Endpoint"] == stack.codec, "the UI decodes through it"

        # 4. Retry the check through the API, as support; the agency has recovered meanwhile.
        #    The raw `temporal workflow update` carries no proof of our services: refused.
        await simulators.configure(pension_fund_delay_seconds=0)
        action = json.dumps({"actor": f"support:{tokens['support_id']}", "reason": "PFR is back"})
        forged = stack.temporal_cli(
            "workflow", "update", "execute", "-w", rid, "--name", "retry_checks", "--input", action
        )
        assert forged.returncode != 0 and "unattested" in forged.stderr + forged.stdout
        retried = await api.post(
            f"/v1/support/registrations/{rid}/retry-checks",
            json={"reason": "PFR is back"},
            headers={"Authorization": f"Bearer {tokens['support']}"},
        )
        assert retried.status_code == 200, retried.text

        async def stage() -> str:
            return str((await api.get(f"/v1/registrations/{rid}")).json()["stage"])

        for _ in range(100):
            if await stage() == "identity_confirmation":
                break
            await asyncio.sleep(0.2)
        assert await stage() == "identity_confirmation", "the retry was not acted on"

        # 5. The audit trail names the support person.
        trail = stack.gosreg("audit", rid)
        retry_line = next(line for line in trail.splitlines() if "checks_retried" in line)
        assert f"support:{tokens['support_id']}" in retry_line and "PFR is back" in retry_line

        # 6. The whole story in plain words, from the history: no personal data unasked.
        story = stack.gosreg("explain", rid)
        assert "verification" in story and "identity_confirmation" in story, story
        assert "Pension Fund (profile v1): asked" in story and "confirmed the data" in story
        assert f"support:{tokens['support_id']}" in story and "checks_retried" in story
        assert "Now" in story, "a running registration says what it waits for"
        assert person.surname not in story and person.phone not in story
        explained = await api.get(
            f"/v1/support/registrations/{rid}/explain",
            headers={"Authorization": f"Bearer {tokens['support']}"},
        )
        assert explained.status_code == 200, explained.text
        assert "Pension Fund (profile v1)" in explained.json()["story"]
        assert person.surname not in explained.text

        # The journey ends at a service center (so the logs cover a whole registration).
        clerk = {"Authorization": f"Bearer {tokens['clerk']}"}
        seen = {
            "passport_series": "4512",
            "passport_number": person.passport_number,
            "snils": person.profile()["snils"],
        }
        verdict = await api.post(
            f"/v1/clerk/registrations/{rid}/in-person-confirmation", json=seen, headers=clerk
        )
        assert verdict.json()["confirmed"] is True, verdict.text

        # The portal was told of every stage change by webhook, signed, once per id.
        async def told() -> list[str]:
            return [str(e.data["stage"]) for e in await simulators.portal_events(rid)]

        await wait_for(Stage.CONFIRMED, told, lambda stages: stages[-1] if stages else "", what=rid)
        assert await told() == [
            "password",
            "profile",
            "verification",
            "identity_confirmation",
            "confirmed",
        ]
        received = json.dumps(
            [e.model_dump(mode="json") for e in await simulators.portal_events(rid)],
            ensure_ascii=False,
        ).encode()
        assert leaks(received, person.needles()) == [], "personal data in a webhook event"

    # 7. Temporal's database file: ciphertext only. The control proves the scan would see
    #    plaintext: a payload sent without the codec is found in the file as it was sent.
    control = unique_word()
    plain = await Client.connect(stack.temporal, namespace="registrations")
    handle = await plain.start_workflow(
        "PlaintextControl", control, id=f"control-{rid}", task_queue="nobody-listens"
    )
    await handle.terminate()
    needles = person.needles()
    stored = b"".join(
        path.read_bytes() for path in stack.data_dir.glob("temporal.sqlite*") if path.is_file()
    )
    assert json.dumps(control).encode() in stored and rid.encode() in stored
    assert leaks(stored, needles) == [], "personal data in Temporal's database"

    # 8. The logs of the whole journey: ids and stages, nothing personal, no secrets.
    logs = (stack.data_dir / "stack.log").read_bytes()
    assert rid.encode() in logs, "the worker's lines about this registration are captured"
    secrets = {
        "password": PASSWORD.encode(),
        **{f"{role} token": tokens[role].encode() for role in ("portal", "support", "clerk")},
    }
    assert leaks(logs, needles | secrets) == [], "personal data or secrets in the logs"
    assert not standalone(code, logs), "the SMS code in the logs"
    json_lines = [line for line in logs.splitlines() if line.startswith(b"{")]
    assert any(b'"workflow_id"' in line for line in json_lines), "structured, with workflow ids"
