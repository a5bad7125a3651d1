"""Bare Temporal: the registration's shape on the benchmark's (clerk) path, without its logic.

`BareRegistration` issues what a real `Registration` history on the clerk path holds
(`temporal workflow show -o json` of one driven by `benchmarks.api_load`): 13 activities,
3 updates and 1 signal, at the same places —

    start → open_registration, send_contact_code, record_audit
    update submit_contact_code (waits for the first code to be out) → record_audit
    update password_set (runs activate_password inside the update)
    update submit_profile → record_audit, check_pension_fund ∥ check_passport, lookup_inn,
        save_verified_profile, notify_user
    signal clerk_confirmation → confirm_identity, notify_user → completed

— and nothing else: the activities are no-ops that return their argument, payloads are short
strings; no validation, search attributes, timers, store, HTTP or queries. A module of its
own, as lean as a workflow module should be (the worker's sandbox re-imports it for every
workflow); `benchmarks.bare` drives it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

# What the product's workflow runs on the clerk path, in order (13 activities).
OPENING = ("open_registration", "send_contact_code", "record_audit")
CHECKS = ("check_pension_fund", "check_passport")
AFTER_CHECKS = ("lookup_inn", "save_verified_profile", "notify_user")
CLOSING = ("confirm_identity", "notify_user")
ACTIVITIES_PER_REGISTRATION = len(OPENING) + 1 + 1 + 1 + len(CHECKS) + len(AFTER_CHECKS) + 2
UPDATES_PER_REGISTRATION = 3
SIGNALS_PER_REGISTRATION = 1
STEP = timedelta(seconds=10)


@activity.defn(name="bare_step")
async def bare_step(name: str) -> str:
    """A no-op standing in for one of the product's activities."""
    return name


@workflow.defn(name="BareRegistration")
class BareRegistration:
    def __init__(self) -> None:
        self._opened = False
        self._steps = 0
        self._confirmed = False

    async def _do(self, name: str) -> str:
        result: str = await workflow.execute_activity(bare_step, name, start_to_close_timeout=STEP)
        return result

    @workflow.run
    async def run(self, registration_id: str) -> str:
        for name in OPENING:
            await self._do(name)
        self._opened = True
        await workflow.wait_condition(lambda: self._steps >= 1)
        await self._do("record_audit")
        await workflow.wait_condition(lambda: self._steps >= 3)
        await self._do("record_audit")
        await asyncio.gather(*(self._do(name) for name in CHECKS))
        for name in AFTER_CHECKS:
            await self._do(name)
        await workflow.wait_condition(lambda: self._confirmed)
        for name in CLOSING:
            await self._do(name)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "confirmed"

    @workflow.update(name="submit_contact_code")
    async def submit_contact_code(self, code: str) -> str:
        await workflow.wait_condition(lambda: self._opened)
        self._steps = max(self._steps, 1)
        return "password"

    @workflow.update(name="password_set")
    async def password_set(self, marker: str) -> str:
        await self._do("activate_password")
        self._steps = max(self._steps, 2)
        return "profile"

    @workflow.update(name="submit_profile")
    def submit_profile(self, profile: str) -> str:
        self._steps = 3
        return "verification"

    @workflow.signal(name="clerk_confirmation")
    def clerk_confirmation(self, clerk: str) -> None:
        self._confirmed = True
