"""Pieces shared by events of several services."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Actor(BaseModel):
    """Who caused the event: the athlete themself, an operator of the back office, or Relay."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["athlete", "admin", "system"]
    id: str | None = None


class AdminDataAccessed(BaseModel):
    """An operator read data through the back office (athletes, the audit trail, dead letters):
    who, with which role, what they asked for, and how many records they were shown."""

    model_config = ConfigDict(extra="ignore")

    admin_id: str
    role: str
    method: str
    path: str
    query: dict[str, str] = Field(default_factory=dict, description="The request's query parameters.")
    records: int | None = Field(default=None, description="How many records the answer held.")
    accessed_at: datetime
    actor: Actor
