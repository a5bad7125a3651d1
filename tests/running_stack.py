"""The real local stack on loopback ports of its own, for the tests that need all of it (the
support runbook, the fault suite), and the people they register.

`LocalStack.on_free_ports` picks the ports and writes the GOSREG_* environment every process
of the stack reads; the runbook runs `gosreg stack` with it, the fault suite an in-process
`ops.stack.Stack` (so it can kill and restart single children).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx

from ops.stack import ROOT, env_on_free_ports, temporal_cli
from settings import Settings, load_settings
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from tests.data import ADDRESS
from tests.journeys import PASSWORD

CYRILLIC = "абвгдежзиклмнопрстуфхцчшэюя"


@dataclass
class LocalStack:
    """Where a local stack listens, and the environment its processes read."""

    env: dict[str, str]
    data_dir: Path
    api: str
    codec: str
    ui: str
    simulators: str
    temporal: str

    @classmethod
    def on_free_ports(cls, data_dir: Path, policy: dict[str, str]) -> LocalStack:
        """A stack whose state lives in `data_dir`, whose registrations follow `policy`
        (GOSREG_POLICY), on free loopback ports."""
        env = {
            **os.environ,
            **env_on_free_ports(data_dir, policy),
            # The tests' one portal token starts many registrations at once, as the portal does.
            "GOSREG_STARTS_PER_CLIENT_PER_MINUTE": "100000",
        }
        return cls(
            env=env,
            data_dir=data_dir,
            api=f"http://127.0.0.1:{env['GOSREG_API_PORT']}",
            codec=f"http://127.0.0.1:{env['GOSREG_CODEC_PORT']}",
            ui=env["GOSREG_TEMPORAL_UI_URL"],
            simulators=env["GOSREG_SIMULATORS_URL"],
            temporal=env["GOSREG_TEMPORAL_ADDRESS"],
        )

    def settings(self) -> Settings:
        """The settings every process of this stack reads from its environment."""
        with mock.patch.dict(os.environ, self.env):
            return load_settings()

    def run_gosreg(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def gosreg(self, *args: str) -> str:
        """What `gosreg …` printed; it must succeed."""
        done = self.run_gosreg(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def temporal_cli(
        self, *args: str, token: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The `temporal` CLI as support runs it; with a token, through the codec server."""
        env = {**self.env}
        if token is not None:
            env |= {"TEMPORAL_CODEC_ENDPOINT": self.codec, "TEMPORAL_CODEC_AUTH": f"Bearer {token}"}
        return subprocess.run(
            [temporal_cli(), *args, "--address", self.temporal, "--namespace", "registrations"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def unique_word() -> str:
    """A name nobody else in the test data has, so finding it anywhere means a leak."""
    return "Ъ" + "".join(random.choice(CYRILLIC) for _ in range(10))


@dataclass
class Person:
    surname: str
    name: str
    patronymic: str
    birth_place: str
    phone: str
    snils_body: str
    passport_number: str

    @classmethod
    def new(cls, snils_body: str | None = None) -> Person:
        """Someone the agencies know, unless `snils_body` scripts an answer
        (`simulators.rules`: e.g. ending in 999, the Pension Fund never answers)."""
        return cls(
            surname=unique_word(),
            name=unique_word(),
            patronymic=unique_word(),
            birth_place="г. " + unique_word(),
            phone=f"+79{random.randint(0, 10**9 - 1):09d}",
            snils_body=snils_body or random_snils_body(),
            passport_number=random_passport_number(),
        )

    def start(self) -> dict[str, str]:
        """The body of `POST /v1/registrations`."""
        return {"surname": self.surname, "name": self.name, "phone": self.phone}

    def profile(self) -> dict[str, object]:
        profile = verifiable_profile(self.snils_body, self.passport_number).model_copy(
            update={
                "surname": self.surname,
                "name": self.name,
                "patronymic": self.patronymic,
                "birth_place": self.birth_place,
            }
        )
        return profile.model_dump(mode="json")

    def needles(self) -> dict[str, bytes]:
        """Each piece of this person's data, as it would appear in plaintext."""
        profile = self.profile()
        values = {
            "surname": self.surname,
            "name": self.name,
            "patronymic": self.patronymic,
            "birth place": self.birth_place,
            "phone": self.phone,
            "phone digits": self.phone.lstrip("+"),
            "snils": str(profile["snils"]),
            "snils digits": str(profile["snils"]).replace("-", "").replace(" ", ""),
            "passport number": self.passport_number,
            "street": ADDRESS.street,
        }
        found: dict[str, bytes] = {}
        for label, value in values.items():
            found[label] = value.encode()
            escaped = json.dumps(value).strip('"').encode()  # JSON's \\uXXXX form
            if escaped != found[label]:
                found[f"{label} (escaped)"] = escaped
        return found


async def wait_until(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


async def reach_verification(
    api: httpx.AsyncClient, simulators: SimulatorControl, person: Person
) -> tuple[str, str]:
    """Walk `person` through the portal (`api`: the portal's client on a running stack) to
    verification, where the Pension Fund is slow (two hours) and MVD answers at once, as
    support meets a stuck registration. Returns the registration id and the SMS code that was
    entered (for log scans); `api` keeps the citizen's session header for the steps after."""
    await simulators.configure(
        pension_fund_delay_seconds=7200, mvd_delay_seconds=0, fns_delay_seconds=0
    )
    started = await api.post("/v1/registrations", json=person.start())
    assert started.status_code == 201, started.text
    rid = str(started.json()["registration_id"])
    api.headers["X-Registration-Session"] = started.json()["session"]
    code = await simulators.sms_code(person.phone)
    assert (await api.post(f"/v1/registrations/{rid}/contact-code", json={"code": code})).json()[
        "accepted"
    ]
    password = {"password": PASSWORD, "password_repeated": PASSWORD}
    assert (await api.put(f"/v1/registrations/{rid}/password", json=password)).status_code == 200
    profile = await api.put(f"/v1/registrations/{rid}/profile", json=person.profile())
    assert profile.json()["stage"] == "verification", profile.text
    return rid, code
