"""The simulated qualified electronic signature: the format of `signed_request` and its verdict.

A `signed_request` is the base64url encoding (padding optional) of a UTF-8 JSON object::

    {"snils": "11223344595", "surname": "Иванова", "name": "Мария",
     "patronymic": "Петровна" | null, "challenge": "…" | null, "nonce": "9f2c...",
     "sig": "valid"}

`challenge` is the data the citizen signed: the registration's `signature_challenge`, which
binds the signature to one registration and one attempt. The verification service returns it
with a valid verdict, as a real one returns the signed content. No cryptography happens: the
`sig` field decides what the verification service says.

==============  =======  ==========================================
``sig``         valid    reason
==============  =======  ==========================================
``"valid"``     true     null (the certificate's owner is returned)
``"revoked"``   false    ``"certificate revoked"``
``"expired"``   false    ``"certificate expired"``
anything else   false    ``"signature does not match the signed data"``
==============  =======  ==========================================

A request that is not base64url, not a JSON object, or lacks a string `snils`, `surname`,
`name`, `nonce` or `sig` is malformed: the service answers 400.
"""

from __future__ import annotations

import base64
import json
import secrets

from pydantic import BaseModel

from simulators.schemas import Certificate, Verification

REASONS = {
    "revoked": "certificate revoked",
    "expired": "certificate expired",
}
BAD_SIGNATURE = "signature does not match the signed data"


class SignedRequest(BaseModel):
    snils: str
    surname: str
    name: str
    patronymic: str | None = None
    challenge: str | None = None
    nonce: str
    sig: str


class MalformedSignature(ValueError):
    """The signed request cannot be read at all."""


def make_signed_request(
    snils: str,
    surname: str,
    name: str,
    patronymic: str | None = None,
    sig: str = "valid",
    challenge: str | None = None,
) -> str:
    """A signed request in the simulated format, for tests and the demo; `sig` picks the verdict
    (see the table above), `challenge` is the data signed. Each call has a fresh nonce, as a
    real signature would."""
    payload = SignedRequest(
        snils=snils,
        surname=surname,
        name=name,
        patronymic=patronymic,
        challenge=challenge,
        nonce=secrets.token_hex(8),
        sig=sig,
    )
    raw = payload.model_dump_json().encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_signed_request(signed_request: str) -> SignedRequest:
    """Decode a signed request; raises MalformedSignature when it cannot be read."""
    padded = signed_request + "=" * (-len(signed_request) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        return SignedRequest.model_validate(json.loads(raw))
    except ValueError as error:  # also binascii, Unicode, JSON and pydantic errors
        raise MalformedSignature(str(error)) from None


def verify(request: SignedRequest) -> Verification:
    """The verification service's verdict on a readable signed request."""
    if request.sig == "valid":
        certificate = Certificate(
            snils=request.snils,
            surname=request.surname,
            name=request.name,
            patronymic=request.patronymic,
        )
        return Verification(valid=True, certificate=certificate, challenge=request.challenge)
    return Verification(valid=False, reason=REASONS.get(request.sig, BAD_SIGNATURE))
