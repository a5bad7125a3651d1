"""Deterministic outcomes chosen by test data (the table is in the package docstring), and the
identifiers the simulated parties hand out. Pure functions, no state."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from simulators.config import Timings
from simulators.schemas import (
    CheckAnswer,
    InnAnswer,
    InnRequestIn,
    LetterStage,
    LetterTracking,
    MvdCheckIn,
    OutboxLetter,
    PensionFundCheckIn,
)

MISMATCH_SUFFIX = "666"
SILENT_SUFFIX = "999"
NOT_FOUND_SUFFIX = "000"
UNKNOWN_SUBSCRIBER_SUFFIX = "0000000"
UNKNOWN_MAIL_DOMAIN = ".invalid"  # RFC 2606: a domain that can never exist
UNKNOWN_POSTCODE = "000000"

MATCHED = CheckAnswer(matched=True)


def pension_fund_answer(check: PensionFundCheckIn) -> CheckAnswer | None:
    """The Pension Fund's answer, or None when it never answers."""
    number = check.snils[:9]  # the check digits are not part of the person's number
    if number.endswith(SILENT_SUFFIX):
        return None
    if number.endswith(MISMATCH_SUFFIX):
        return CheckAnswer(
            matched=False,
            reason_code="snils_mismatch",
            reason="SNILS does not belong to this person",
        )
    return MATCHED


def mvd_answer(check: MvdCheckIn) -> CheckAnswer | None:
    """The MVD's answer, or None when it never answers."""
    if check.passport_number.endswith(SILENT_SUFFIX):
        return None
    if check.passport_number.endswith(MISMATCH_SUFFIX):
        return CheckAnswer(
            matched=False,
            reason_code="passport_invalid",
            reason="Passport is not valid (reported lost or replaced)",
        )
    return MATCHED


def fns_answer(request: InnRequestIn) -> InnAnswer:
    """FNS always answers: the person's INN, or "not found"."""
    if request.snils[:9].endswith(NOT_FOUND_SUFFIX):
        return InnAnswer(found=False)
    return InnAnswer(found=True, inn=derive_inn(request.snils))


INN_WEIGHTS = ((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
"""FNS weights of a personal INN's 11th and 12th (check) digits."""


def derive_inn(snils: str) -> str:
    """A 12-digit personal INN with valid check digits, derived from the SNILS alone: the INN
    belongs to the person, so correcting a misspelt name must not change it."""
    number = int.from_bytes(hashlib.sha256(f"inn:{snils}".encode()).digest(), "big")
    region = 1 + number % 89  # 01..89, as real region codes
    inspection = 1 + (number // 100) % 99
    record = (number // 10_000) % 1_000_000
    digits = [int(c) for c in f"{region:02d}{inspection:02d}{record:06d}"]
    for weights in INN_WEIGHTS:
        digits.append(sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)
    return "".join(map(str, digits))


def unknown_subscriber(phone: str) -> bool:
    return phone.endswith(UNKNOWN_SUBSCRIBER_SUFFIX)


def unknown_mailbox(address: str) -> bool:
    return address.lower().endswith(UNKNOWN_MAIL_DOMAIN)


def unknown_postcode(postcode: str) -> bool:
    return postcode == UNKNOWN_POSTCODE


SENDING_OFFICE = "101000"  # Moscow main post office


def tracking_number(ordered_at: datetime, serial: int) -> str:
    """A 14-digit domestic Russian Post identifier: sending office postcode (6), month (2),
    serial (5), check digit (1) — odd positions weigh 3, even 1, the digit tops the sum up to
    a multiple of 10."""
    stem = f"{SENDING_OFFICE}{ordered_at.month:02d}{serial % 100_000:05d}"
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(stem))
    return f"{stem}{(10 - total % 10) % 10}"


LETTER_DESCRIPTIONS = {
    LetterStage.ACCEPTED: "Принято в отделении связи",
    LetterStage.IN_TRANSIT: "В пути",
    LetterStage.ARRIVED: "Прибыло в место вручения",
}


def letter_progress(letter: OutboxLetter, now: datetime, timings: Timings) -> LetterTracking:
    """Where `letter` is at `now`, and since when."""
    ordered_at = letter.ordered_at
    stage, since = LetterStage.ACCEPTED, ordered_at
    milestones = (
        (LetterStage.IN_TRANSIT, timings.letter_transit_after_seconds),
        (LetterStage.ARRIVED, timings.letter_arrival_after_seconds),
    )
    for next_stage, after_seconds in milestones:
        reached_at = ordered_at + timedelta(seconds=after_seconds)
        if now < reached_at:
            break
        stage, since = next_stage, reached_at
    return LetterTracking(
        tracking_number=letter.tracking_number,
        status=stage,
        description=LETTER_DESCRIPTIONS[stage],
        updated_at=since,
    )
