"""Pieces shared by events of several services."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Actor(BaseModel):
    """Who caused the event: the athlete themself, an operator of the back office, or Relay."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["athlete", "admin", "system"]
    id: str | None = None
