"""The e-signature verification service: is this signed confirmation request valid, and whose
qualified certificate signed it?"""

from __future__ import annotations

from pydantic import BaseModel, model_validator
from temporalio import activity

from activities.http import PartyClient
from registration.activity_messages import SignatureCheck, VerifySignature

MALFORMED = "signature is malformed"
INVALID = "signature is not valid"


class SignedRequest(BaseModel):
    signed_request: str


class Certificate(BaseModel):
    snils: str
    surname: str
    name: str
    patronymic: str | None = None


class Verification(BaseModel):
    valid: bool
    reason: str | None = None
    certificate: Certificate | None = None
    challenge: str | None = None

    @model_validator(mode="after")
    def _valid_names_its_owner(self) -> Verification:
        if self.valid and self.certificate is None:
            raise ValueError("a valid signature must come with its certificate")
        return self


class ESignatureClient(PartyClient):
    party = "e-signature service"

    async def verify(self, signed_request: str) -> Verification | None:
        """The service's verdict; None when the request cannot even be read (HTTP 400)."""
        body = SignedRequest(signed_request=signed_request)
        response = await self._send("POST", "/verifications", body, answers={400})
        return None if response.status_code == 400 else self._read(response, Verification)


class SignatureActivities:
    """Activities for confirmation by e-signature; construct once with the service's client."""

    def __init__(self, esignature: ESignatureClient) -> None:
        self._esignature = esignature

    @activity.defn(name="verify_signature")
    async def verify_signature(self, request: VerifySignature) -> SignatureCheck:
        """The verdict with the certificate owner's identity when valid. An invalid or
        malformed signature is an answer (valid=False and why), not a failure; comparing the
        owner with the profile is the workflow's business."""
        verification = await self._esignature.verify(request.signed_request)
        if verification is None:
            verdict = SignatureCheck(valid=False, reason=MALFORMED)
        elif verification.valid and verification.certificate is not None:
            verdict = SignatureCheck(
                valid=True,
                challenge=verification.challenge,
                **verification.certificate.model_dump(),
            )
        else:
            verdict = SignatureCheck(valid=False, reason=verification.reason or INVALID)
        activity.logger.info(
            "Verified signature of registration %s: valid=%s",
            request.registration_id,
            verdict.valid,
        )
        return verdict
