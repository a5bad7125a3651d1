"""Every side effect of the journey: one module per outside party, plus the account store.

`build_activities` is the registry the worker runs: adding an activity touches its module
and one line here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.agencies import AgencyActivities
from activities.email import EmailClient
from activities.esignature import ESignatureClient, SignatureActivities
from activities.fns import FnsClient
from activities.http import HttpClient
from activities.messaging import MessagingActivities
from activities.mvd import MvdClient
from activities.pension_fund import PensionFundClient
from activities.post import PostActivities, PostClient
from activities.sms import SmsClient
from activities.store import StoreActivities
from settings import Settings
from store.sends import SendLimits


@asynccontextmanager
async def build_activities(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[list[Callable[..., Any]]]:
    """All activities, wired to the configured parties and store; HTTP pool closed on exit."""
    async with HttpClient(settings.http_timeout_seconds) as http:
        url = settings.party_url
        yield [
            *methods(
                MessagingActivities(
                    SmsClient(url("sms_gateway"), http),
                    EmailClient(url("email_gateway"), http),
                    settings.code_secret_bytes,
                    settings.portal_url,
                    engine,
                    SendLimits.from_settings(settings),
                )
            ),
            *methods(
                AgencyActivities(
                    PensionFundClient(url("pension_fund"), http),
                    MvdClient(url("mvd"), http),
                    FnsClient(url("fns"), http),
                )
            ),
            *methods(PostActivities(PostClient(url("post"), http), settings.code_secret_bytes)),
            *methods(SignatureActivities(ESignatureClient(url("esignature"), http))),
            *methods(StoreActivities(engine)),
        ]


def methods(instance: object) -> list[Callable[..., Any]]:
    """The bound activity methods of an activity class instance."""
    return [
        getattr(instance, name)
        for name in dir(type(instance))
        if hasattr(getattr(type(instance), name), "__temporal_activity_definition")
    ]
