"""Request bodies shared by more than one router."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Reason(BaseModel):
    """Why someone acts on a registration; it goes into the audit trail."""

    reason: str = Field(min_length=1, max_length=500)
