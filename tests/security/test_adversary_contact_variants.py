"""Adversarial pass: one mailbox and one citizen address under many spellings.

The limits that span registrations are keyed by the contact as typed (domain lower-cased) and
by the citizen's address as forwarded. Spellings that reach the same mailbox, or that stand
for different citizens, are keyed differently or alike where they should not be.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx

from simulators.control import SimulatorControl
from tests.citizens import Citizen, bearer
from tests.security.conftest import ApiWith


def mailbox(address: str) -> str:
    """Where a mail transfer agent delivers `address`: its domain IDNA-encoded (UTS #46 maps
    full-width letters to ASCII and U-labels to A-labels), as every MTA does before DNS."""
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.encode('idna').decode().lower()}"


async def test_one_mailbox_gets_no_more_codes_under_other_spellings_of_its_domain(
    http: httpx.AsyncClient, fresh_portal: str, outbox: SimulatorControl
) -> None:
    """Actor: anyone who knows an e-mail address (through the portal, or a leaked portal
    token). Impact: the per-contact budgets (≥ 60 s apart, 6 an hour, 20 a day) are per
    spelling, and a domain has as many spellings as letters to write full-width, plus its
    A-label when it is an IDN: "mail.ru" alone gives 2⁶ = 64, so 1,280 codes a day can be
    sent to one mailbox, and the citizen's mailbox is flooded (docs/security.md promises it
    cannot be). Each spelling is also a separate registration and, once finished, a second
    account for the same mailbox.
    Suggested fix: normalise the domain with IDNA/UTS #46 (to its A-label, or refuse non-ASCII
    look-alikes) before keying, storing and sending; NFKC the local part or refuse non-ASCII
    in it."""
    local = f"anna.{uuid.uuid4().hex[:10]}"
    spellings = [
        f"{local}@mail.ru",
        f"{local}@ｍａｉｌ.ru",
        f"{local}@ｍail.ru",
        f"{local}@mａil.ru",
        f"{local}@почта.рф",
        f"{local}@xn--80a1acny.xn--p1ai",
    ]
    for address in spellings:
        started = await http.post(
            "/v1/registrations",
            json={"surname": "Иванова", "name": "Мария", "email": address},
            headers=bearer(fresh_portal),
        )
        assert started.status_code in (201, 429), started.text
    await asyncio.sleep(1.0)

    delivered: dict[str, int] = {}
    for address in spellings:
        for message in await outbox.messages(to=address, kind="email"):
            delivered[mailbox(message.to)] = delivered.get(mailbox(message.to), 0) + 1
    assert delivered, "no e-mail was sent at all"
    # Within one second, at most one code may reach one mailbox (60 s apart).
    assert all(count <= 1 for count in delivered.values()), delivered


async def test_ipv4_mapped_citizen_addresses_are_not_one_household(
    api_with: ApiWith, fresh_portal: str, outbox: SimulatorControl
) -> None:
    """Actor: any citizen, or an attacker making a few starts. A portal behind a dual-stack
    socket or proxy reports IPv4 citizens as `::ffff:a.b.c.d`. `citizen_network` takes the /64
    of that, `::/64`, for every IPv4 citizen on the internet: all of them share one budget of
    20 starts an hour and 30 code entries per 10 minutes, so a handful of starts locks every
    IPv4 citizen out of registering. (And `1.2.3.4` and `::ffff:1.2.3.4` are two budgets.)
    Suggested fix: in `citizen_network`, count `address.ipv4_mapped` (and 6to4/Teredo, if
    wanted) as the IPv4 address it carries."""
    async with api_with(starts_per_ip_per_hour=3) as http:
        citizens = [
            Citizen(http, fresh_portal, outbox, citizen_ip=f"::ffff:198.51.{n}.{n + 10}")
            for n in range(5)
        ]
        statuses = [(await citizen.start()).status_code for citizen in citizens]
        assert statuses == [201] * 5, f"five different IPv4 citizens were answered {statuses}"
