"""The tables of the account store, as SQLAlchemy models.

These models describe the schema for queries and for `alembic revision --autogenerate`; the
schema itself is built only by the migrations in `store/migrations`, which must agree with this
module (a test compares them). Enumerated columns are text with CHECK constraints rather than
PostgreSQL enum types, so that adding a value is a one-line migration.

`audit_events` is append-only: a trigger installed by the migrations rejects UPDATE, DELETE and
TRUNCATE, and no code path in `store.repository` tries either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from registration.contact import Channel
from registration.journey import Level, Origin


class RegistrationStatus(StrEnum):
    """Where a registration stands as a whole; `stage` says where inside the journey it is."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUSED = "refused"


ACCOUNT_LEVELS = (Level.SIMPLIFIED, Level.STANDARD, Level.CONFIRMED)
"""An account exists from `simplified` on; `Level.NONE` describes a registration, not a row."""


def _one_of(column: str, values: Iterable[str]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


class Base(DeclarativeBase):
    # Explicit names keep migrations reviewable and let them drop constraints by name.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this mapping, never mutates it
        datetime: DateTime(timezone=True),
        str: Text(),
        dict[str, Any]: JSONB(),
        uuid.UUID: Uuid(),
    }


class Account(Base):
    """A citizen's account. It exists from the moment a password is set (level `simplified`)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(_one_of("level", ACCOUNT_LEVELS), name="level"),
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="has_contact"),
        # One account per e-mail address whatever its case: Foo@x.ru and foo@x.ru are one box.
        Index("uq_accounts_email_lower", func.lower(text("email")), unique=True),
        # A clerk finds a person by the passport shown at the counter (`store.clerk_desk`).
        Index(
            "ix_accounts_passport",
            text("(profile ->> 'passport_series')"),
            text("(profile ->> 'passport_number')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    level: Mapped[str]
    phone: Mapped[str | None] = mapped_column(unique=True)
    email: Mapped[str | None]
    surname: Mapped[str]
    name: Mapped[str]
    # None until set: an account made at a service-center counter gets its password later,
    # from the citizen, through a one-time link (`password_links`).
    password_hash: Mapped[str | None]
    profile: Mapped[dict[str, Any] | None]
    # Not unique: what to do with a second account for one SNILS is a product decision.
    snils: Mapped[str | None] = mapped_column(index=True)
    inn: Mapped[str | None]
    confirmation_method: Mapped[str | None]
    tax_cabinet_access: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Registration(Base):
    """One registration journey; `registration_id` is its Temporal workflow id."""

    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(_one_of("status", RegistrationStatus), name="status"),
        CheckConstraint(_one_of("channel", Channel), name="channel"),
        CheckConstraint(_one_of("origin", Origin), name="origin"),
        Index("ix_registrations_contact_status", "contact", "status"),
        # A service center's registrations of the day (the clerk console).
        Index("ix_registrations_service_center_created", "service_center_id", "created_at"),
    )

    registration_id: Mapped[str] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    channel: Mapped[str]
    contact: Mapped[str]
    # As typed at the start; the password policy refuses passwords containing them.
    surname: Mapped[str]
    name: Mapped[str]
    status: Mapped[str]
    stage: Mapped[str]
    # Staged by the portal before it tells the workflow; moved into the account, then cleared.
    pending_password_hash: Mapped[str | None]
    # Which staging the hash is: the workflow activates only the one its update names, so of
    # racing submissions the one the workflow accepts is the one stored.
    pending_password_id: Mapped[str | None]
    origin: Mapped[str] = mapped_column(server_default=Origin.PORTAL.value)
    # For a registration made at a counter: the center and the clerk who registered the person.
    service_center_id: Mapped[str | None]
    clerk_id: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    closed_at: Mapped[datetime | None]


class PasswordLink(Base):
    """A one-time link to set the password of an account made at a counter. Only the token's
    keyed hash is kept (`registration.codes.hash_code`, purpose `password`); the token is
    derived again from the secret when a retried activity sends the same link."""

    __tablename__ = "password_links"
    __table_args__ = (UniqueConstraint("registration_id", "sequence"),)

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.registration_id"))
    sequence: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuditEvent(Base):
    """One line of the audit trail. (registration_id, seq) is unique: it is the idempotency key
    of the step that wrote the line."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("registration_id", "seq"),
        # A service center's day at the console (`store.clerk_desk`).
        Index(
            "ix_audit_events_service_center",
            text("(details ->> 'service_center_id')"),
            "recorded_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.registration_id"))
    seq: Mapped[int]
    event: Mapped[str]
    stage: Mapped[str]
    actor: Mapped[str]
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RegistrationSession(Base):
    """A citizen's session with one registration, opened by a start (`service.sessions`).

    Only the keyed hash of the session's secret is kept. A session is *proven* once the
    contact code was entered through it; only the proven session may take the citizen's
    later steps, and proving one revokes every other session of the registration. No
    foreign key: the session is opened before the workflow has written the registration row.
    """

    __tablename__ = "registration_sessions"

    id: Mapped[str] = mapped_column(primary_key=True)
    registration_id: Mapped[str] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(unique=True)
    client_id: Mapped[str]
    """The API client (portal token) that opened it."""
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    proven_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
