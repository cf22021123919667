"""Events produced by the planning service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relay_contracts.events.common import Actor


class ProgramActivated(BaseModel):
    """A training program became the athlete's active one (the previous one, if any, ended)."""

    model_config = ConfigDict(extra="ignore")

    program_id: str
    user_id: str
    distance_type: str = Field(description="`70.3` or `ironman` (seed 001).")
    event_date: date
    start_date: date
    activated_at: datetime
    actor: Actor


class ProgramEnded(BaseModel):
    """A program stopped being active: finished, replaced or abandoned."""

    model_config = ConfigDict(extra="ignore")

    program_id: str
    user_id: str
    reason: Literal["completed", "replaced", "abandoned"]
    ended_at: datetime
    actor: Actor
