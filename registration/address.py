"""The postal address a registered letter goes to, and the rules it must pass."""

from __future__ import annotations

from typing import Any

from registration.base import Model
from registration.checks import DIGITS, TEXT_MAX, Problems, optional_text, required_text


class PostalAddress(Model):
    postcode: str
    region: str
    city: str
    street: str
    house: str
    apartment: str | None = None


def normalize_postal_address(address: PostalAddress, field: str = "address") -> PostalAddress:
    """The address a registered letter goes to: a 6-digit postcode and non-empty region, city,
    street and house (at most 200 characters each, whitespace normalised); the apartment is
    optional (blank becomes None). Errors name `<field>.<part>`, e.g. "address.postcode"."""
    problems = Problems()
    postcode = address.postcode.strip()
    if len(postcode) != 6 or any(c not in DIGITS for c in postcode):
        problems.add(f"{field}.postcode", "postcode.format", "Postcode must be 6 digits")
    parts = (("region", "Region"), ("city", "City"), ("street", "Street"), ("house", "House"))
    update: dict[str, Any] = {
        part: required_text(problems, getattr(address, part), f"{field}.{part}", label, TEXT_MAX)
        for part, label in parts
    }
    update["postcode"] = postcode
    update["apartment"] = optional_text(
        problems, address.apartment, f"{field}.apartment", "Apartment", TEXT_MAX
    )
    problems.raise_if_any()
    return address.model_copy(update=update)
