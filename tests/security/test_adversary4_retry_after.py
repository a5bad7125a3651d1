"""Fourth adversarial pass: Retry-After tells a citizen to come back far too early.

Actor: none needed; the honest citizen (and a portal that honours Retry-After) is misled.
An attacker who spends the registration's resends makes it worse for the phone's owner.

Impact: the workflow refuses a new code over its hourly or daily resend cap
(`_check_new_code`: "Too many codes requested in the last hour/today") with `resend_limit`
but without a `retry_at`, so `api.errors.refusal_response` falls back to `Retry-After: 60`.
The real wait is until the oldest send leaves the hour (up to an hour) or the day (up to a
day). A portal that shows a countdown, or retries at Retry-After, is refused again and again
(60 times an hour, each a workflow round trip); the brief's rule is that a citizen must never
be told to wait less than needed.

Reproduction: a policy with `resends_per_hour=1` (the default is 5, reached after five
resends a minute apart): start, wait for the cooldown, ask for a new code: 429 with
`Retry-After: 60`, while the refusal holds for the rest of the hour.

Suggested fix: give both refusals a `retry_at` (the moment the `resends_per_hour`-th newest
send leaves the hour, or the `resends_per_day`-th the day, as `store.sends._judge` computes
for the store's budgets), and never fall back to a fixed 60 s for a 429.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.conftest import FAST
from tests.security.conftest import ApiWith


async def test_retry_after_of_the_hourly_resend_cap_is_not_a_minute(
    api_with: ApiWith, outbox: SimulatorControl, fresh_portal: str
) -> None:
    policy = FAST.model_copy(
        update={"resends_per_hour": 1, "resend_cooldown": timedelta(seconds=1)}
    )
    async with api_with(policy=policy) as http:
        citizen = Citizen(http, fresh_portal, outbox)
        assert (await citizen.start()).status_code == 201
        await asyncio.sleep(1.5)
        refused = await citizen.call("POST", "/contact-code/resend")
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "resend_limit", refused.text
        retry_after = int(refused.headers["Retry-After"])
        # The cap holds until the start's code is an hour old: nearly an hour from now.
        assert retry_after > 3000, (
            f"refused by the hourly resend cap until the start's code is an hour old, the "
            f"citizen is told Retry-After: {retry_after} s ({refused.json()['message']})"
        )
