"""One-time links to set the password of an account made at a service-center counter.

The workflow's activity derives the link's token from the code secret (so a retry sends the
same link) and keeps only its keyed hash here, valid for the policy's lifetime. The citizen
opens the link and chooses a password: the first use of a valid link sets it, and every link
of that registration stops working. A link that is unknown, used or out of date is refused
alike (`LinkInvalid`): the answer does not say which.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from store.schema import Account, PasswordLink, Registration


class LinkInvalid(Exception):
    """The link is unknown, used, out of date, or its registration has no account."""


async def save_link(
    engine: AsyncEngine, registration_id: str, sequence: int, token_hash: str, valid_for: timedelta
) -> None:
    """Keep link number `sequence` of the registration; a retry changes nothing."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(PasswordLink)
            .values(
                token_hash=token_hash,
                registration_id=registration_id,
                sequence=sequence,
                expires_at=func.now() + valid_for,
            )
            .on_conflict_do_nothing()
        )


async def set_password(
    engine: AsyncEngine, registration_id: str, token_hash: str, password_hash: str
) -> None:
    """Set the account's password through the link whose token hashes to `token_hash`, and
    spend every link of the registration. Raises `LinkInvalid`; of two racing uses of one
    link, exactly one sets the password."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        link = await session.scalar(
            select(PasswordLink)
            .where(
                PasswordLink.token_hash == token_hash,
                PasswordLink.registration_id == registration_id,
                PasswordLink.used_at.is_(None),
                PasswordLink.expires_at > func.now(),
            )
            .with_for_update()
        )
        registration = await session.get(Registration, registration_id)
        if link is None or registration is None or registration.account_id is None:
            raise LinkInvalid(registration_id)
        await session.execute(
            update(Account)
            .where(Account.id == registration.account_id)
            .values(password_hash=password_hash)
        )
        await session.execute(
            update(PasswordLink)
            .where(PasswordLink.registration_id == registration_id, PasswordLink.used_at.is_(None))
            .values(used_at=func.now())
        )
