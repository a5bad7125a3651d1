"""A per-registration step limit counts a step once: a keyed retry of an applied step gets its
first answer from the store, never the limit's 429 (it was counted when it was applied)."""

from __future__ import annotations

from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.data import PROFILE
from tests.security.conftest import ApiWith


async def test_a_keyed_retry_of_an_applied_profile_is_answered_not_counted(
    api_with: ApiWith, fresh_portal: str, outbox: SimulatorControl
) -> None:
    async with api_with(profiles_per_registration_per_day=1) as http:
        citizen = Citizen(http, fresh_portal, outbox)
        assert (await citizen.start()).status_code == 201
        assert (await citizen.confirm_contact()).json()["accepted"]
        assert (await citizen.set_password()).status_code == 200
        body = PROFILE.model_dump(mode="json")

        first = await citizen.call("PUT", "/profile", body, Idempotency_Key="profile-1")
        retry = await citizen.call("PUT", "/profile", body, Idempotency_Key="profile-1")
        another = await citizen.call("PUT", "/profile", body, Idempotency_Key="profile-2")

    assert first.status_code == 200, first.text
    assert retry.status_code == 200 and retry.json() == first.json(), retry.text
    assert another.status_code == 429, "a new step is counted: the day's one is spent"
