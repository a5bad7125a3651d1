"""Request bodies shared by more than one router."""

from __future__ import annotations

from fastapi import Body
from pydantic import BaseModel, Field

from api import examples


class Reason(BaseModel):
    """Why someone acts on a registration; it goes into the audit trail."""

    reason: str = Field(min_length=1, max_length=500)


REASON_EXAMPLES = Body(
    openapi_examples=examples.bodies(reason=("Why, for the audit trail", {"reason": "duplicate"}))
)
