"""Events produced by the export service: workouts pushed to athletes' devices and what became of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relay_contracts.events.common import Actor
from relay_contracts.workouts import WorkoutThresholds

ExportProvider = Literal["garmin", "coros_training_hub"]


class WorkoutExported(BaseModel):
    """A session's workout is on the athlete's device account (created, or updated after a change)."""

    model_config = ConfigDict(extra="ignore")

    export_id: str
    session_id: str
    user_id: str
    provider: ExportProvider
    provider_workout_id: str = Field(description="The workout's (or import's) id at the provider.")
    scheduled_date: date
    action: Literal["created", "updated", "replaced"] = Field(
        description="`replaced`: the provider cannot update, the previous workout was deleted first."
    )
    thresholds: WorkoutThresholds = Field(description="The thresholds the pushed targets came from.")
    attempts: int
    exported_at: datetime
    actor: Actor


class WorkoutExportFailed(BaseModel):
    """An export gave up: it will not be retried until asked again."""

    model_config = ConfigDict(extra="ignore")

    export_id: str
    session_id: str
    user_id: str
    provider: ExportProvider
    reason: Literal[
        "reauth_required", "not_connected", "invalid_file", "file_too_large", "provider_error", "not_created"
    ] = Field(description="`not_created`: the provider said it worked, but the workout is not there.")
    message: str
    attempts: int
    failed_at: datetime
    actor: Actor


class WorkoutVerified(BaseModel):
    """The workout was read back from the provider and is the one sent."""

    model_config = ConfigDict(extra="ignore")

    export_id: str
    session_id: str
    user_id: str
    provider: ExportProvider
    provider_workout_id: str
    verified_at: datetime
    actor: Actor


class WorkoutRemoved(BaseModel):
    """A pushed workout was deleted from the provider, because its session left the plan."""

    model_config = ConfigDict(extra="ignore")

    export_id: str
    session_id: str
    user_id: str
    provider: ExportProvider
    provider_workout_id: str
    removed_at: datetime
    actor: Actor
