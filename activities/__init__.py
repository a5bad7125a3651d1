"""Every side effect of the journey: one module per outside party, plus the account store.

`ACTIVITIES` lists every activity by reference; `build_activities` binds them to their parties
and store, as the worker runs them. Adding an activity touches its module and one line here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import MethodType
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.agencies import AgencyActivities
from activities.email import EmailClient
from activities.esignature import ESignatureClient, SignatureActivities
from activities.fns import FnsClient
from activities.http import HttpClient
from activities.messaging import MessagingActivities
from activities.mvd import MvdClient
from activities.pension_fund import PensionFundClient
from activities.portal import PortalActivities
from activities.post import PostActivities, PostClient
from activities.sms import SmsClient
from activities.store import StoreActivities
from settings import Settings
from store.sends import SendLimits


@asynccontextmanager
async def build_activities(
    settings: Settings,
    engine: AsyncEngine,
    *,
    instrument_http: Callable[[httpx.AsyncClient], None] | None = None,
) -> AsyncIterator[list[Callable[..., Any]]]:
    """All activities, wired to the configured parties and store; HTTP pool closed on exit.
    `instrument_http` (tracing) is applied to the one HTTP client every party shares."""
    async with HttpClient(settings.http_timeout_seconds, instrument=instrument_http) as http:
        url = settings.party_url
        yield [
            *bound(
                MessagingActivities(
                    SmsClient(url("sms_gateway"), http),
                    EmailClient(url("email_gateway"), http),
                    settings.code_secret_bytes,
                    settings.portal_url,
                    engine,
                    SendLimits.from_settings(settings),
                )
            ),
            *bound(
                AgencyActivities(
                    PensionFundClient(url("pension_fund"), http),
                    MvdClient(url("mvd"), http),
                    FnsClient(url("fns"), http),
                )
            ),
            *bound(PostActivities(PostClient(url("post"), http), settings.code_secret_bytes)),
            *bound(SignatureActivities(ESignatureClient(url("esignature"), http))),
            *bound(StoreActivities(engine)),
            *bound(
                PortalActivities(
                    http,
                    settings.portal_webhook_url,
                    settings.portal_webhook_secret.get_secret_value()
                    if settings.portal_webhook_secret
                    else None,
                )
            ),
        ]


ACTIVITIES: dict[type, tuple[Callable[..., Any], ...]] = {
    MessagingActivities: (
        MessagingActivities.send_contact_code,
        MessagingActivities.notify_user,
        MessagingActivities.send_password_link,
    ),
    AgencyActivities: (
        AgencyActivities.check_pension_fund,
        AgencyActivities.check_passport,
        AgencyActivities.lookup_inn,
    ),
    PostActivities: (PostActivities.order_letter, PostActivities.track_letter),
    SignatureActivities: (SignatureActivities.verify_signature,),
    PortalActivities: (PortalActivities.deliver_events,),
    StoreActivities: (
        StoreActivities.open_registration,
        StoreActivities.record_audit,
        StoreActivities.record_audits,
        StoreActivities.activate_password,
        StoreActivities.open_counter_account,
        StoreActivities.bind_session,
        StoreActivities.save_verified_profile,
        StoreActivities.confirm_identity,
        StoreActivities.close_registration,
    ),
}
"""Every activity the workflow runs, by the class whose instance carries its party."""


def bound(instance: object) -> list[Callable[..., Any]]:
    """The activities of `instance`'s class (`ACTIVITIES`), bound to it."""
    return [MethodType(function, instance) for function in ACTIVITIES[type(instance)]]
