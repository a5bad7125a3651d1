"""The OpenAPI document is a contract a generator can use: `openapi-python-client` generates a
client from it at test time, and a registration walks to `confirmed` through that client
alone (the citizen's steps with the portal's token, the identity with a clerk's).

The generation runs as a subprocess the session's event loop awaits, so the Temporal worker
living in that loop keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import PASSWORD
from tests.data import PROFILE, new_phone

PACKAGE = "gosreg_generated_client"
GENERATION_DEADLINE_SECONDS = 180


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def generated(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding the client package generated from the served document."""
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator, "openapi-python-client is not installed (pip install -e '.[dev]')"
    root = tmp_path_factory.mktemp("generated-client")
    async with httpx.AsyncClient(base_url=api_url) as http:
        document = (await http.get("/openapi.json")).json()
    (root / "openapi.json").write_text(json.dumps(document))
    process = await asyncio.create_subprocess_exec(
        generator,
        "generate",
        "--path",
        str(root / "openapi.json"),
        "--meta",
        "none",
        "--output-path",
        str(root / PACKAGE),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=root,
    )
    output, _ = await asyncio.wait_for(process.communicate(), GENERATION_DEADLINE_SECONDS)
    text = output.decode()
    assert process.returncode == 0, text
    # The generator warns about every part of the document it could not turn into code.
    assert "Warning" not in text and "Error" not in text, text
    return root


@pytest.fixture(scope="module")
def client_package(generated: Path) -> Iterator[str]:
    sys.path.insert(0, str(generated))
    yield PACKAGE
    sys.path.remove(str(generated))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def part(package: str, name: str) -> Any:
    """A module of the generated client, e.g. `api.portal.start_registration`."""
    return importlib.import_module(f"{package}.{name}")


async def test_a_generated_client_walks_a_registration_to_confirmed(
    client_package: str, api_url: str, tokens: Tokens, outbox: SimulatorControl
) -> None:
    models = part(client_package, "models")
    clients = part(client_package, "client")

    def operation(tag: str, operation_id: str) -> Any:
        return part(client_package, f"api.{tag}.{operation_id}")

    portal = clients.AuthenticatedClient(base_url=api_url, token=tokens.portal, timeout=30.0)
    clerk = clients.AuthenticatedClient(base_url=api_url, token=tokens.clerk, timeout=30.0)
    phone = new_phone()

    started = await operation("portal", "start_registration").asyncio(
        client=portal,
        body=models.StartRegistration(surname=PROFILE.surname, name=PROFILE.name, phone=phone),
    )
    assert isinstance(started, models.Started), started
    assert started.state.stage == models.Stage.CONTACT_CONFIRMATION
    registration_id, session = started.registration_id, started.session

    def step(tag: str, operation_id: str, **arguments: Any) -> Any:
        return operation(tag, operation_id).asyncio(
            registration_id,
            client=portal,
            x_registration_session=session,
            **arguments,
        )

    verdict = await step(
        "portal", "submit_contact_code", body=models.CodeEntry(code=await outbox.sms_code(phone))
    )
    assert isinstance(verdict, models.CodeVerdict) and verdict.accepted, verdict

    password = await step(
        "portal",
        "set_password",
        body=models.PasswordEntry(password=PASSWORD, password_repeated=PASSWORD),
    )
    assert password.level == models.Level.SIMPLIFIED, password

    profile = models.Profile.from_dict(PROFILE.model_dump(mode="json"))
    assert isinstance(profile.birth_date, date)
    taken = await step("portal", "submit_profile", body=profile)
    assert taken.stage == models.Stage.VERIFICATION, taken

    async def wait_for(stage: Any) -> Any:
        for _ in range(200):
            state = await step("portal", "get_registration")
            assert isinstance(state, models.RegistrationView), state
            if state.stage == stage:
                return state
            await asyncio.sleep(0.05)
        raise AssertionError(f"never reached {stage}: {state}")

    await wait_for(models.Stage.IDENTITY_CONFIRMATION)
    chosen = await step(
        "portal",
        "choose_confirmation_method",
        body=models.MethodChoice(method=models.ConfirmationMethod.IN_PERSON),
    )
    assert chosen.method == models.ConfirmationMethod.IN_PERSON, chosen

    found = await operation("clerks", "find_awaiting_registrations").asyncio(
        client=clerk, body=models.PersonLookup(snils=PROFILE.snils)
    )
    assert registration_id in found.registration_ids, found
    confirmed = await operation("clerks", "confirm_in_person").asyncio(
        registration_id,
        client=clerk,
        body=models.DocumentsSeen(
            passport_series=PROFILE.passport_series,
            passport_number=PROFILE.passport_number,
            snils=PROFILE.snils,
        ),
    )
    assert isinstance(confirmed, models.ConfirmationVerdict) and confirmed.confirmed, confirmed
    state = await wait_for(models.Stage.CONFIRMED)
    assert state.level == models.Level.CONFIRMED


async def test_a_generated_client_reads_errors_as_problem_details(
    client_package: str, api_url: str, tokens: Tokens
) -> None:
    models = part(client_package, "models")
    clients = part(client_package, "client")
    support = clients.AuthenticatedClient(base_url=api_url, token=tokens.support, timeout=30.0)
    answer = await part(client_package, "api.support.get_audit_trail").asyncio_detailed(
        "reg-nobody", client=support
    )
    assert answer.status_code == 404
    problem = answer.parsed
    assert isinstance(problem, models.Problem), problem
    assert (problem.code, problem.status) == ("not_found", 404)
    assert problem.type_ == "https://gosreg.example/problems/not_found"
