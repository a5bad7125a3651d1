"""A citizen registering over HTTP, through a portal token: the API tests' and the attacks'
one walker (tests/api, tests/security)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx

from registration.journey import Stage
from simulators.control import SimulatorControl
from tests.data import ADDRESS, PROFILE, new_phone
from tests.waiting import wait_for

PASSWORD = "Zvezda#Polar7"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Citizen:
    """One person (one phone) registering through the portal token `portal`, in the session
    its last start answered with; `citizen_ip` is the address the portal forwards."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        portal: str,
        outbox: SimulatorControl,
        *,
        phone: str | None = None,
        citizen_ip: str | None = None,
    ) -> None:
        self.http, self.portal, self.outbox = http, portal, outbox
        self.phone = phone or new_phone()
        self.citizen_ip = citizen_ip
        self.id = ""
        self.session = ""

    def headers(self) -> dict[str, str]:
        headers = bearer(self.portal) | {"X-Registration-Session": self.session}
        if self.citizen_ip is not None:
            headers["X-Citizen-IP"] = self.citizen_ip
        return headers

    async def call(
        self, method: str, path: str, body: Any = None, **headers: str
    ) -> httpx.Response:
        """A step of this citizen's registration (`path` below it), in its session."""
        return await self.http.request(
            method,
            f"/v1/registrations/{self.id}{path}",
            json=body,
            headers=self.headers() | {k.replace("_", "-"): v for k, v in headers.items()},
        )

    async def start(self, surname: str = "Иванова") -> httpx.Response:
        """Start (or join) this phone's registration; keeps the answer's id and session."""
        headers = bearer(self.portal)
        if self.citizen_ip is not None:
            headers["X-Citizen-IP"] = self.citizen_ip
        response = await self.http.post(
            "/v1/registrations",
            json={"surname": surname, "name": "Мария", "phone": self.phone},
            headers=headers,
        )
        self.id = response.json().get("registration_id", "")
        self.session = response.json().get("session", "")
        return response

    async def confirm_contact(self) -> httpx.Response:
        """Enter the newest SMS code to this phone."""
        code = await self.outbox.sms_code(self.phone)
        return await self.call("POST", "/contact-code", {"code": code})

    async def set_password(self, password: str = PASSWORD) -> httpx.Response:
        return await self.call(
            "PUT", "/password", {"password": password, "password_repeated": password}
        )

    async def reach_identity_stage(self) -> None:
        assert (await self.start()).status_code == 201
        verdict = await self.confirm_contact()
        assert verdict.json()["accepted"], verdict.json()
        done = await self.set_password()
        assert done.json()["level"] == "simplified", done.json()
        profile = await self.call("PUT", "/profile", PROFILE.model_dump(mode="json"))
        assert profile.json()["stage"] == "verification", profile.json()
        await self.wait_for(Stage.IDENTITY)

    async def choose_letter(self) -> dict[str, Any]:
        """Choose the registered letter at the identity stage: the letter is ordered."""
        chosen = await self.call(
            "PUT", "/confirmation-method", {"method": "letter", "address": ADDRESS.model_dump()}
        )
        assert chosen.status_code == 200, chosen.text
        answer: dict[str, Any] = chosen.json()
        return answer

    async def wait_for(self, stage: Stage) -> dict[str, Any]:
        async def look() -> dict[str, Any]:
            state: dict[str, Any] = (await self.call("GET", "")).json()
            return state

        return await wait_for(stage, look, lambda state: state["stage"], what=self.id)


async def within_one_window(window: timedelta, needed: timedelta = timedelta(seconds=45)) -> None:
    """Wait, if need be, until the current fixed rate-limit window of length `window` has at
    least `needed` left: limits count in windows aligned on the clock (`store.access`), and a
    test that counts hits must not straddle two of them."""
    left = window.total_seconds() - time.time() % window.total_seconds()
    if left < needed.total_seconds():
        await asyncio.sleep(left + 0.5)
