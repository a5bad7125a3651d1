"""`gosreg demo`: one registration through every stage against the running stack.

It plays the citizen (reading the SMS and the letter from the simulators' outbox, as a phone
and a mailbox would) and prints each stage as the workflow reaches it.
"""

from __future__ import annotations

import asyncio
import random
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from registration.address import PostalAddress
from registration.journey import ConfirmationMethod, Stage
from registration.messages import RegistrationView
from service.limits import Limits
from service.registrations import Registrations
from service.temporal import connect
from settings import Settings, load_settings
from simulators.control import SimulatorControl
from simulators.people import random_passport_number, random_snils_body, verifiable_profile
from store import repository
from store.db import make_engine
from store.embedded import database_url

ADDRESS = PostalAddress(
    postcode="101000",
    region="Москва",
    city="Москва",
    street="ул. Мясницкая",
    house="1",
    apartment="5",
)


class Demo:
    def __init__(
        self,
        settings: Settings,
        registrations: Registrations,
        engine: AsyncEngine,
        outbox: SimulatorControl,
    ) -> None:
        self.settings, self.registrations, self.outbox = settings, registrations, outbox
        self.engine = engine
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        print(f"  [{time.monotonic() - self.t0:5.1f}s] {text}", flush=True)

    async def wait_for(
        self, registration_id: str, stage: Stage, seconds: float = 90
    ) -> RegistrationView:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            view = await self.registrations.state(registration_id)
            if view.stage is stage:
                return view
            await asyncio.sleep(0.5)
        raise SystemExit(f"the registration did not reach {stage} in {seconds:.0f} s")

    async def run(self, *, until_identity: bool = False) -> None:
        """Walk a registration to `confirmed` by letter, or only until it awaits identity
        confirmation (`until_identity`: for a clerk to confirm in person at the console)."""
        phone = f"+79{random.randint(100_000_000, 999_999_998)}"
        started = await self.registrations.start("Иванова", "Мария", phone=phone)
        rid = started.registration_id
        self.say(f"registration {rid} started, stage {started.state.stage}")
        self.say(
            f"support desk (Temporal UI, decoded): {self.settings.support_workflows_url}/{rid}"
        )

        code = await self.outbox.sms_code(phone)
        self.say(f"SMS arrived with code {code}")
        verdict = await self.registrations.submit_contact_code(rid, code)
        self.say(f"code accepted={verdict.accepted} → stage {verdict.stage}")

        done = await self.registrations.set_password(rid, "Zvezda#Polar7", "Zvezda#Polar7")
        self.say(f"password set → stage {done.stage}, level {done.level}")

        profile = verifiable_profile(random_snils_body(), random_passport_number())
        done = await self.registrations.submit_profile(rid, profile)
        self.say(f"profile submitted → stage {done.stage}: Pension Fund and MVD are checking")
        view = await self.wait_for(rid, Stage.IDENTITY)
        self.say(f"verified → level {view.level}, INN found: {view.inn_found}")
        if until_identity:
            self.say(f"awaiting identity confirmation: at {self.settings.console_url}")
            self.say(f"  find the citizen by SNILS {profile.snils} or phone {phone},")
            self.say(
                f"  confirm with passport {profile.passport_series} {profile.passport_number}"
                f" and SNILS {profile.snils}"
            )
            return

        chosen = await self.registrations.choose_method(rid, ConfirmationMethod.LETTER, ADDRESS)
        assert chosen.letter is not None
        self.say(f"registered letter ordered, tracking number {chosen.letter.tracking_number}")
        letter_code = await self.outbox.letter_code(chosen.letter.tracking_number)
        self.say(f"letter collected at the post office, code {letter_code}")
        verdict = await self.registrations.submit_letter_code(rid, letter_code)
        self.say(f"letter code accepted={verdict.accepted}")

        result = await self.registrations.result(rid)
        account = await repository.get_account_for_registration(self.engine, rid)
        self.say(f"finished: stage {result.stage}, level {result.level}, method {result.method}")
        if account is not None:
            self.say(
                f"account in the store: level {account.level}, "
                f"tax-cabinet access {account.tax_cabinet_access}"
            )
        audit = await repository.list_audit(self.engine, rid)
        self.say("audit trail: " + ", ".join(entry.event for entry in audit))
        if result.stage is not Stage.CONFIRMED:
            raise SystemExit("the demo did not reach `confirmed`")


async def run_demo(*, until_identity: bool = False) -> None:
    settings = load_settings()
    client = await connect(settings)
    engine = make_engine(database_url(settings))
    registrations = Registrations(
        client,
        engine,
        task_queue=settings.temporal_task_queue,
        code_secret=settings.code_secret_bytes,
        policy=settings.policy,
        limits=Limits(engine, settings),
    )
    async with SimulatorControl(settings.simulators_url) as outbox:
        demo = Demo(settings, registrations, engine, outbox)
        print(
            "Registering one citizen "
            + ("until the identity stage:" if until_identity else "end to end:")
        )
        await demo.run(until_identity=until_identity)
    await engine.dispose()
