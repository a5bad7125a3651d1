"""The base of every message the service passes: unknown fields are ignored, so that
histories written by an older version still load."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base for every message: unknown fields are ignored so that old histories still load."""

    model_config = ConfigDict(extra="ignore")
