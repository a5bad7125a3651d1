"""Load benchmark of the HTTP API: N virtual citizens registered concurrently to `confirmed`.

A benchmark script, not a test: it drives the running local stack over HTTP on loopback and
prints, per endpoint (method and route template), how many calls were made and their p50, p95,
p99 and max latency; the end-to-end time of a registration (start → `confirmed`) and of its
phases; the registrations per second that reached `confirmed`; every non-2xx answer with its
status code; and the machine (cores, memory, date).

Each virtual citizen, with a phone, SNILS and passport of their own (none of them the test
data the simulators answer with a scripted failure), sends an `Idempotency-Key` with each step
as a portal would:

    POST /v1/registrations → the SMS code from the simulators' outbox
    → POST …/contact-code → PUT …/password → PUT …/profile
    → the portal's webhook says `identity_confirmation`
    → a clerk: POST /v1/clerk/registrations/search and POST …/in-person-confirmation
      (or, with `--method letter`, the citizen: PUT …/confirmation-method with an address →
      the letter's code from the simulators' outbox → POST …/letter-code)
    → the portal's webhook says `confirmed`

It learns a stage change as a portal does: the benchmark is the portal's webhook receiver
(`benchmarks.portal`, signatures checked), and nothing polls the registration's state.

The agencies' own time is excluded: for the run the Pension Fund, MVD and FNS simulators answer
with no delay (their previous delays are restored afterwards). Agency checks retry with the
backoff of the policy of the process that starts registrations (the API), 10 s at first by
default, so start the stack for benchmarking with a short one:

    export GOSREG_PORTAL_WEBHOOK_URL=http://127.0.0.1:8090/events
    export GOSREG_PORTAL_WEBHOOK_SECRET=$(python -c \
        'from registration.webhooks import new_secret; print(new_secret())')
    GOSREG_POLICY='{"agency_initial_backoff": "PT0.2S", "agency_max_backoff": "PT1S"}' gosreg stack

then, from the project's root in another terminal (`. .venv/bin/activate` first, and the same
GOSREG_PORTAL_WEBHOOK_SECRET exported: the receiver listens on `--webhook-port`, 8090):

    python -m benchmarks.api_load --citizens 50 --concurrency 10
    python -m benchmarks.api_load --citizens 200 --concurrency 20

or let it start a stack of its own on free ports (a fresh data directory, the short backoff,
its webhooks sent to the benchmark):

    python -m benchmarks.api_load --own-stack --citizens 50 --concurrency 10 --method letter

Tokens: by default one portal and one clerk token are created in the store (like
`gosreg tokens create`, so run it from the project's root with the stack's settings) and
revoked at the end; `--portal-tokens K` spreads citizens over K portal tokens, which keeps each
token under the per-client code-entry limit (`GOSREG_CODE_ENTRIES_PER_CLIENT`, 600 a minute) at
high rates. `--portal-token` (repeatable) and `--clerk-token` use existing tokens instead.

Bounded: every request has a timeout (`--request-timeout`), every citizen a deadline
(`--citizen-timeout`) and the run as a whole one more (`--run-timeout`); only loopback URLs
are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import itertools
import math
import os
import platform
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.portal import DeadEnd, PortalReceiver, serving
from registration.callers import Role
from registration.documents import snils_check_digits
from registration.journey import Stage
from simulators.config import Timings
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from simulators.rules import UNKNOWN_SUBSCRIBER_SUFFIX

# --- the endpoints, as route templates --------------------------------------------------------

START = "/v1/registrations"
CONTACT_CODE = "/v1/registrations/{registration_id}/contact-code"
PASSWORD = "/v1/registrations/{registration_id}/password"
PROFILE = "/v1/registrations/{registration_id}/profile"
CLERK_LOOKUP = "/v1/clerk/registrations/search"
CLERK_CONFIRM = "/v1/clerk/registrations/{registration_id}/in-person-confirmation"
METHOD = "/v1/registrations/{registration_id}/confirmation-method"
LETTER_CODE = "/v1/registrations/{registration_id}/letter-code"
CITIZEN_STEPS = frozenset({CONTACT_CODE, PASSWORD, PROFILE, METHOD, LETTER_CODE})
ENDPOINT_ORDER = [
    f"POST {START}",
    f"POST {CONTACT_CODE}",
    f"PUT {PASSWORD}",
    f"PUT {PROFILE}",
    f"POST {CLERK_LOOKUP}",
    f"POST {CLERK_CONFIRM}",
    f"PUT {METHOD}",
    f"POST {LETTER_CODE}",
]

PASSWORD_TEXT = "Zvezda#Polar7"
SERVICE_CENTER = "mfc-77-001"
AGENCY_DELAYS = ("pension_fund_delay_seconds", "mvd_delay_seconds", "fns_delay_seconds")
# Test data the simulators answer with a scripted failure (simulators/__init__.py).
# Stages a citizen waiting for a later stage must never reach: the journey went wrong. (Sent
# back to the profile is a stage seen before too; the citizen's deadline catches it.)
DEAD_ENDS = frozenset({Stage.CANCELLED, Stage.EXPIRED, Stage.REFUSED})

END_TO_END = "end to end (start → `confirmed` seen)"
SMS = "SMS (start answered → code in outbox)"
VERIFICATION = "verification (profile answered → identity_confirmation seen)"
CONFIRMATION = "clerk confirmation (lookup → `confirmed` seen)"
LETTER = "letter confirmation (method chosen → `confirmed` seen)"
PHASE_ORDER = [END_TO_END, SMS, VERIFICATION, CONFIRMATION, LETTER]
METHODS = ("clerk", "letter")
ADDRESS = {
    "postcode": "101000",
    "region": "Москва",
    "city": "Москва",
    "street": "ул. Мясницкая",
    "house": "1",
}


# --- options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    citizens: int = 50
    concurrency: int = 10
    api_url: str = "http://127.0.0.1:8000"
    simulators_url: str = "http://127.0.0.1:8081"
    portal_tokens: int = 1
    portal_token: list[str] = field(default_factory=list)
    clerk_token: str | None = None
    webhook_port: int = 8090
    """Where the benchmark's portal takes the stack's webhooks (`GOSREG_PORTAL_WEBHOOK_URL`)."""
    more_api_urls: tuple[str, ...] = ()
    """Further API instances of the same stack: calls go to each in turn."""
    webhook_secret: str = field(
        default_factory=lambda: os.environ.get("GOSREG_PORTAL_WEBHOOK_SECRET", "")
    )
    """What they are signed with (`GOSREG_PORTAL_WEBHOOK_SECRET`)."""
    request_timeout: float = 30.0
    citizen_timeout: float = 120.0
    run_timeout: float = 600.0
    method: str = "clerk"
    """How the identity is confirmed: "clerk" (in person) or "letter"."""


def parse_options(argv: list[str] | None = None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.api_load",
        description="Register N citizens to `confirmed` through the API and report latencies.",
    )
    parser.add_argument("--citizens", type=int, default=50, help="registrations (default 50)")
    parser.add_argument(
        "--concurrency", type=int, default=10, help="citizens at a time (default 10)"
    )
    parser.add_argument("--api-url", default="http://127.0.0.1:8000")
    parser.add_argument("--simulators-url", default="http://127.0.0.1:8081")
    parser.add_argument(
        "--portal-tokens", type=int, default=1, help="portal tokens to create and share out"
    )
    parser.add_argument(
        "--portal-token", action="append", default=[], help="use this portal token (repeatable)"
    )
    parser.add_argument("--clerk-token", help="use this clerk token")
    parser.add_argument(
        "--webhook-port",
        type=int,
        default=8090,
        help="the benchmark's portal takes the stack's webhooks here (default 8090); the "
        "secret is GOSREG_PORTAL_WEBHOOK_SECRET",
    )
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--citizen-timeout", type=float, default=120.0)
    parser.add_argument("--run-timeout", type=float, default=600.0)
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="clerk",
        help="identity confirmed by a clerk in person (default) or by registered letter",
    )
    parser.add_argument(
        "--own-stack",
        action="store_true",
        help="start a `gosreg stack` of its own on free ports (fresh data, short agency "
        "backoff) instead of using a running one; --api-url and --simulators-url are ignored",
    )
    args = parser.parse_args(argv)
    own_stack = args.own_stack
    del args.own_stack
    options = Options(**vars(args))
    problem = check_options(options)
    if problem:
        parser.error(problem)
    return options, own_stack


def check_options(options: Options) -> str | None:
    """What is wrong with `options`, or None."""
    if options.citizens < 1 or options.concurrency < 1 or options.portal_tokens < 1:
        return "--citizens, --concurrency and --portal-tokens must be at least 1"
    if min(options.request_timeout, options.citizen_timeout, options.run_timeout) <= 0:
        return "timeouts must be positive"
    if not options.webhook_secret.startswith("whsec_"):
        return (
            "GOSREG_PORTAL_WEBHOOK_SECRET (the stack's webhook secret, whsec_…) is not set: "
            "the benchmark is the portal that receives the stack's webhooks"
        )
    for url in (options.api_url, options.simulators_url):
        if not is_loopback(url):
            return f"{url} is not on loopback: this benchmark runs against the local stack only"
    return None


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Recorder:
    """Latencies per endpoint and per phase (seconds), errors and failed journeys."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    phases: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def phase(self, name: str, seconds: float) -> None:
        self.phases[name].append(seconds)


class JourneyFailed(Exception):
    """A citizen's journey cannot go on; the message says where and why."""


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..100) of an ascending, non-empty list."""
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


# --- the API, timed ---------------------------------------------------------------------------


class Api:
    """Calls the API, timing every answer under its endpoint's route template; with more
    than one API instance, each call goes to the next (as a load balancer without affinity
    would send them: the steps of one registration land on different instances)."""

    def __init__(
        self, http: httpx.AsyncClient | list[httpx.AsyncClient], recorder: Recorder
    ) -> None:
        self.instances = http if isinstance(http, list) else [http]
        self.recorder = recorder
        self._turn = itertools.count()

    @property
    def http(self) -> httpx.AsyncClient:
        return self.instances[next(self._turn) % len(self.instances)]

    async def call(
        self,
        method: str,
        template: str,
        token: str,
        *,
        registration_id: str = "",
        body: Any = None,
        session: str | None = None,
    ) -> dict[str, Any]:
        endpoint = f"{method} {template}"
        path = template.format(registration_id=registration_id)
        headers = {"Authorization": f"Bearer {token}"}
        if session is not None:
            headers["X-Registration-Session"] = session
        if template in CITIZEN_STEPS:  # as a portal does, so that a retry is the same step
            headers["Idempotency-Key"] = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            self.recorder.errors[endpoint, type(error).__name__] += 1
            raise JourneyFailed(f"{endpoint}: {type(error).__name__}") from error
        self.recorder.latencies[endpoint].append(time.perf_counter() - started)
        answer = json_of(response)
        if not response.is_success:
            label = f"{response.status_code} {answer.get('code', '')}".strip()
            self.recorder.errors[endpoint, label] += 1
            raise JourneyFailed(f"{endpoint}: {label}")
        return answer


def json_of(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; empty when it has none (an empty or non-JSON body)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


# --- one citizen ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    phone: str
    snils_body: str
    passport_number: str

    @property
    def snils(self) -> str:
        return self.snils_body + snils_check_digits(self.snils_body)

    def profile(self) -> dict[str, Any]:
        return verifiable_profile(self.snils_body, self.passport_number).model_dump(mode="json")


def new_people(count: int) -> list[Person]:
    """`count` people with distinct phones, SNILS and passports, none of them test data that
    the simulators answer with a scripted failure."""
    phones: set[str] = set()
    bodies: set[str] = set()
    passports: set[str] = set()
    while len(phones) < count:
        phone = f"+79{random.randrange(10**9):09d}"
        if not phone.endswith(UNKNOWN_SUBSCRIBER_SUFFIX):
            phones.add(phone)
    while len(bodies) < count:
        bodies.add(random_snils_body())
    while len(passports) < count:
        passports.add(random_passport_number())
    return [
        Person(phone, body, passport)
        for phone, body, passport in zip(
            sorted(phones), sorted(bodies), sorted(passports), strict=True
        )
    ]


@dataclass(frozen=True)
class Tokens:
    portal: tuple[str, ...]
    clerk: str


class Citizen:
    """One person's journey to `confirmed`, through the portal's token and a clerk's."""

    def __init__(
        self,
        api: Api,
        outbox: SimulatorControl,
        receiver: PortalReceiver,
        person: Person,
        portal: str,
        clerk: str,
    ) -> None:
        self.api, self.outbox, self.receiver, self.person = api, outbox, receiver, person
        self.portal, self.clerk = portal, clerk
        self.id = ""
        self.session = ""

    async def register(self, method: str = "clerk") -> float:
        """Go from start to `confirmed`, the identity confirmed by `method`; the seconds it
        took."""
        began = time.perf_counter()
        code = await self.start()
        await self.confirm_contact(code)
        await self.set_password_and_profile()
        verifying = time.perf_counter()
        await self.wait_for(Stage.IDENTITY)
        self.api.recorder.phase(VERIFICATION, since(verifying))
        confirming = time.perf_counter()
        if method == "letter":
            await self.confirm_by_letter()
        else:
            await self.clerk_confirms()
        await self.wait_for(Stage.CONFIRMED)
        self.api.recorder.phase(LETTER if method == "letter" else CONFIRMATION, since(confirming))
        self.receiver.forget(self.id)
        return since(began)

    async def start(self) -> str:
        """Start the registration; the SMS code that arrives."""
        body = {"surname": "Иванова", "name": "Мария", "phone": self.person.phone}
        started = await self.api.call("POST", START, self.portal, body=body)
        self.id = started["registration_id"]
        self.session = started["session"]
        expect(started["state"]["stage"] == Stage.CONTACT, f"started at {started['state']}")
        sent = time.perf_counter()
        code = await self.outbox.sms_code(self.person.phone, seconds=30)
        self.api.recorder.phase(SMS, since(sent))
        return code

    async def confirm_contact(self, code: str) -> None:
        verdict = await self.call("POST", CONTACT_CODE, {"code": code})
        expect(verdict["accepted"] is True, f"contact code refused: {verdict}")

    async def set_password_and_profile(self) -> None:
        password = {"password": PASSWORD_TEXT, "password_repeated": PASSWORD_TEXT}
        done = await self.call("PUT", PASSWORD, password)
        expect(done["stage"] == Stage.PROFILE, f"after the password: {done}")
        done = await self.call("PUT", PROFILE, self.person.profile())
        expect(done["stage"] == Stage.VERIFICATION, f"after the profile: {done}")

    async def clerk_confirms(self) -> None:
        found = await self.api.call(
            "POST", CLERK_LOOKUP, self.clerk, body={"snils": self.person.snils}
        )
        expect(self.id in found["registration_ids"], "the clerk did not find the registration")
        seen = {
            "passport_series": "4512",
            "passport_number": self.person.passport_number,
            "snils": self.person.snils,
        }
        verdict = await self.api.call(
            "POST", CLERK_CONFIRM, self.clerk, registration_id=self.id, body=seen
        )
        expect(verdict["confirmed"] is True, f"the clerk's confirmation: {verdict}")

    async def confirm_by_letter(self) -> None:
        """Order the registered letter, collect it at the post (the outbox), type its code."""
        chosen = await self.call("PUT", METHOD, {"method": "letter", "address": ADDRESS})
        tracking_number = str((chosen.get("letter") or {}).get("tracking_number") or "")
        expect(bool(tracking_number), f"no letter was ordered: {chosen}")
        code = await self.outbox.letter_code(tracking_number, seconds=30)
        verdict = await self.call("POST", LETTER_CODE, {"code": code})
        expect(verdict["accepted"] is True, f"letter code refused: {verdict}")

    async def wait_for(self, stage: Stage) -> None:
        """Until the portal's webhook says the registration reached `stage` (the citizen's
        deadline bounds the wait)."""
        try:
            await self.receiver.reached(self.id, stage, DEAD_ENDS)
        except DeadEnd as dead_end:
            raise JourneyFailed(str(dead_end)) from None

    async def call(self, method: str, template: str, body: Any = None) -> dict[str, Any]:
        return await self.api.call(
            method, template, self.portal, registration_id=self.id, body=body, session=self.session
        )


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise JourneyFailed(failure)


def since(moment: float) -> float:
    return time.perf_counter() - moment


# --- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    seconds: float
    confirmed: int
    finished: bool
    """False when the run's own deadline cut it short."""


async def run_citizens(
    options: Options, tokens: Tokens, api: Api, outbox: SimulatorControl, receiver: PortalReceiver
) -> Outcome:
    """Register `options.citizens` people, `options.concurrency` at a time."""
    gate = asyncio.Semaphore(options.concurrency)
    recorder = api.recorder
    confirmed = 0

    async def one(number: int, person: Person) -> None:
        nonlocal confirmed
        portal = tokens.portal[number % len(tokens.portal)]
        citizen = Citizen(api, outbox, receiver, person, portal, tokens.clerk)
        async with gate:
            try:
                async with asyncio.timeout(options.citizen_timeout):
                    seconds = await citizen.register(options.method)
                recorder.phase(END_TO_END, seconds)
                confirmed += 1
            except JourneyFailed as failure:
                recorder.failures[str(failure)] += 1
            except LookupError as missing:  # the SMS or the letter never reached the outbox
                recorder.failures[f"outbox: {missing}"] += 1
            except TimeoutError:
                recorder.failures[f"not confirmed within {options.citizen_timeout:g} s"] += 1
            except (KeyError, ValueError) as odd:  # an answer without the expected fields
                recorder.failures[f"unexpected answer: {odd!r}"] += 1

    began = time.perf_counter()
    finished = True
    try:
        async with asyncio.timeout(options.run_timeout):
            await asyncio.gather(*(one(n, p) for n, p in enumerate(new_people(options.citizens))))
    except TimeoutError:
        finished = False
    return Outcome(since(began), confirmed, finished)


async def check_ready(http: httpx.AsyncClient) -> None:
    try:
        ready = await http.get("/health/ready")
    except httpx.HTTPError as error:
        raise SystemExit(
            f"the API at {http.base_url} does not answer: is `gosreg stack` up?"
        ) from error
    if not ready.is_success:
        raise SystemExit(f"the API is not ready: {ready.status_code} {ready.text}")


@asynccontextmanager
async def agencies_without_delay(outbox: SimulatorControl) -> AsyncIterator[Timings]:
    """Set the agency simulators' delays to 0 for the run; restore them afterwards."""
    before = await outbox.configure()
    await outbox.configure(**dict.fromkeys(AGENCY_DELAYS, 0.0))
    try:
        yield before
    finally:
        await outbox.configure(**{name: getattr(before, name) for name in AGENCY_DELAYS})


@asynccontextmanager
async def benchmark_tokens(options: Options) -> AsyncIterator[Tokens]:
    """The tokens given, or tokens created in the store for the run and revoked after it."""
    if options.portal_token and options.clerk_token:
        yield Tokens(tuple(options.portal_token), options.clerk_token)
        return
    # Imported here: only needed, and only connects to the store, when creating tokens.
    from settings import load_settings
    from store import access
    from store.db import make_engine
    from store.embedded import database_url, stop_embedded_postgres

    settings = load_settings()
    engine = make_engine(await asyncio.to_thread(database_url, settings))
    pepper = settings.token_pepper_bytes
    created: list[str] = []

    async def create(role: Role, name: str, center: str | None = None) -> str:
        principal, token = await access.create_client(engine, pepper, role, name, center)
        created.append(principal.client_id)
        return token

    try:
        portal = options.portal_token or [
            await create(Role.PORTAL, f"benchmark portal {n + 1}")
            for n in range(options.portal_tokens)
        ]
        clerk = options.clerk_token or await create(Role.CLERK, "benchmark clerk", SERVICE_CENTER)
        yield Tokens(tuple(portal), clerk)
    finally:
        for client_id in created:
            await access.revoke_client(engine, client_id)
        await engine.dispose()
        if settings.database_url is None:  # let go of the embedded server; the stack keeps it
            await asyncio.to_thread(stop_embedded_postgres, settings.data_dir / "postgres")


@dataclass(frozen=True)
class Session:
    """What runs of citizens share: the API client, the simulators' outbox, the portal's
    webhook receiver and the tokens."""

    http: httpx.AsyncClient
    outbox: SimulatorControl
    receiver: PortalReceiver
    tokens: Tokens
    more: list[httpx.AsyncClient] = field(default_factory=list)
    """Clients of the further API instances (`Options.more_api_urls`)."""

    async def run(self, options: Options, recorder: Recorder) -> Outcome:
        api = Api([self.http, *self.more], recorder)
        return await run_citizens(options, self.tokens, api, self.outbox, self.receiver)


@asynccontextmanager
async def session(options: Options) -> AsyncIterator[Session]:
    """Take the stack's webhooks, connect to the API (ready) and the simulators, take tokens
    and set the agencies' delays to 0; undo all of it at the end. Used by the other
    benchmarks too."""
    limits = httpx.Limits(max_connections=options.concurrency * 2)
    receiver = PortalReceiver(options.webhook_secret)
    async with (
        serving(receiver, options.webhook_port),
        httpx.AsyncClient(
            base_url=options.api_url, timeout=options.request_timeout, limits=limits
        ) as http,
        SimulatorControl(options.simulators_url, timeout=options.request_timeout) as outbox,
        contextlib.AsyncExitStack() as instances,
    ):
        more = [
            await instances.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=options.request_timeout, limits=limits)
            )
            for url in options.more_api_urls
        ]
        for client in (http, *more):
            await check_ready(client)
        async with benchmark_tokens(options) as tokens, agencies_without_delay(outbox):
            yield Session(http, outbox, receiver, tokens, more)


async def benchmark(options: Options) -> None:
    recorder = Recorder()
    async with session(options) as running:
        print_header(options, running.tokens)
        outcome = await running.run(options, recorder)
    print_report(options, recorder, outcome)
    say(webhooks_seen(running.receiver))


def webhooks_seen(receiver: PortalReceiver) -> str:
    seen = receiver.deliveries
    return (
        f"webhooks: {seen.applied} events applied, {seen.repeated} repeated deliveries, "
        f"{seen.refused} refused"
    )


# --- the report -------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def memory() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "memory unknown"
    return f"{total / 2**30:.1f} GiB RAM"


def print_header(options: Options, tokens: Tokens) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    say(f"gosreg API benchmark, {now}")
    say(
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores "
        f"(os.cpu_count), {memory()}, Python {platform.python_version()}"
    )
    say(
        f"run: {options.citizens} citizens, concurrency {options.concurrency}, "
        f"{len(tokens.portal)} portal token(s), stage changes learnt from the portal's "
        f"webhooks (nothing polls), identity confirmed by {options.method}"
    )
    say(
        "agency time excluded: the Pension Fund, MVD and FNS simulators answer without delay; "
        "the checks' retry backoff is the API's policy (GOSREG_POLICY)"
    )
    say()


def table(title: str, rows: dict[str, list[float]], order: list[str]) -> None:
    """One line per row: count, p50, p95, p99 and max in milliseconds."""
    names = [name for name in order if rows.get(name)] + sorted(set(rows) - set(order))
    width = max([len(title), *(len(name) for name in names)])
    headings = "  ".join(f"{heading:>8}" for heading in ("p50 ms", "p95 ms", "p99 ms", "max ms"))
    say(f"{title:<{width}}  {'count':>6}  {headings}")
    for name in names:
        ordered = sorted(rows[name])
        cells = [percentile(ordered, share) * 1000 for share in (50, 95, 99, 100)]
        say(f"{name:<{width}}  {len(ordered):>6}  " + "  ".join(f"{c:>8.1f}" for c in cells))
    say()


def print_report(options: Options, recorder: Recorder, outcome: Outcome) -> None:
    table("endpoint", recorder.latencies, ENDPOINT_ORDER)
    table("phase", recorder.phases, PHASE_ORDER)
    rate = outcome.confirmed / outcome.seconds if outcome.seconds > 0 else 0.0
    say(
        f"confirmed {outcome.confirmed}/{options.citizens} in {outcome.seconds:.1f} s: "
        f"{rate:.2f} registrations/s to `confirmed`"
    )
    if not outcome.finished:
        say(f"STOPPED: the run's deadline of {options.run_timeout:g} s passed")
    say(f"non-2xx answers and transport errors: {sum(recorder.errors.values()) or 'none'}")
    for (endpoint, label), count in sorted(recorder.errors.items()):
        say(f"  {count:>5} × {label} on {endpoint}")
    for reason, count in recorder.failures.most_common():
        say(f"  failed journey ×{count}: {reason}")


def main(argv: list[str] | None = None) -> None:
    options, own_stack = parse_options(argv)
    try:
        if not own_stack:
            asyncio.run(benchmark(options))
            return
        from benchmarks.localstack import local_stack

        with local_stack() as stack:
            stack.apply_settings()  # the tokens are created in this stack's store
            here = replace(options, **stack.client_options())
            asyncio.run(benchmark(here))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
