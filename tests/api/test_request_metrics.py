"""The API's `/metrics`: requests counted by route template and status, never by the path a
caller sent (which holds registration ids), and the refusals the API answered."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from api.metrics import RequestMetrics
from metrics import exposition
from simulators.control import SimulatorControl
from tests.api.conftest import Tokens
from tests.citizens import Citizen
from tests.scraping import samples


def requests(exported: str) -> dict[tuple[str, str, str], float]:
    return {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in samples(exported, "gosreg_http_requests_total")
    }


async def test_a_citizens_steps_are_counted_by_route_never_by_id(
    http: httpx.AsyncClient, tokens: Tokens, outbox: SimulatorControl
) -> None:
    citizen = Citizen(http, tokens.portal, outbox)
    before = requests((await http.get("/metrics")).text)
    assert (await citizen.start()).status_code == 201
    assert (await citizen.confirm_contact()).json()["accepted"]
    assert (await citizen.call("GET", "")).status_code == 200
    wrong = await citizen.call("POST", "/letter-code", {"code": "AAAAA-AAAAA"})
    assert wrong.status_code == 409
    unknown = await http.get(f"/v1/nothing/{citizen.id}")
    assert unknown.status_code == 404

    exported = (await http.get("/metrics")).text
    after = requests(exported)
    template = "/v1/registrations/{registration_id}"
    for key in [
        ("POST", "/v1/registrations", "201"),
        ("POST", f"{template}/contact-code", "200"),
        ("GET", template, "200"),
        ("POST", f"{template}/letter-code", "409"),
        ("GET", "unmatched", "404"),
    ]:
        assert after.get(key, 0) >= before.get(key, 0) + 1, key
    assert samples(exported, "gosreg_step_refusals_total"), "the wrong-stage refusal"
    for secret in (citizen.id, citizen.session, citizen.phone, citizen.phone.lstrip("+")):
        assert secret not in exported
    assert "registration_id" in exported, "the control: templates name the parameter"
    assert "reg-" not in exported


@pytest.fixture
def tiny() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(RequestMetrics)
    return app


async def test_paths_no_route_took_and_made_up_methods_are_not_labels(tiny: FastAPI) -> None:
    transport = httpx.ASGITransport(tiny, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        assert (await client.get("/items/reg-secret-1")).status_code == 200
        assert (await client.get("/reg-secret-2/anything")).status_code == 404
        assert (await client.request("BREW", "/items/reg-secret-3")).status_code == 405
        assert (await client.get("/boom")).status_code == 500
    exported = exposition.text().decode()
    counted = requests(exported)
    assert counted[("GET", "/items/{item_id}", "200")] >= 1
    assert counted[("GET", "unmatched", "404")] >= 1
    assert counted[("other", "/items/{item_id}", "405")] >= 1
    assert counted[("GET", "/boom", "500")] >= 1
    assert "reg-secret" not in exported and "BREW" not in exported
