"""Request and response models of the export API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from export.models import WorkoutExport

Provider = Literal["garmin", "coros_training_hub"]


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider = Field(description="Where the workout goes: Garmin Connect or COROS Training Hub.")


class ExportOut(BaseModel):
    """An export of a session's workout to a provider. `status`: queued, sending, exported (created and
    read back from the provider), failed (see `failure_reason`) or removed."""

    id: str
    session_id: str
    provider: str
    action: str = Field(description="`push` (create or update) or `remove` (the session left the plan).")
    status: str
    attempts: int
    next_attempt_at: datetime | None
    failure_reason: str | None
    error: str | None
    provider_workout_id: str | None
    scheduled_date: date | None = Field(description="The day the workout is on at the provider.")
    thresholds: dict[str, Any] | None = Field(description="The thresholds the pushed targets came from.")
    exported_at: datetime | None
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, export: WorkoutExport) -> ExportOut:
        return cls(
            id=export.id,
            session_id=export.session_id,
            provider=export.provider,
            action=export.action,
            status=export.status,
            attempts=export.attempts,
            next_attempt_at=export.next_attempt_at if export.status == "queued" else None,
            failure_reason=export.failure_reason,
            error=export.last_error,
            provider_workout_id=export.provider_workout_id,
            scheduled_date=export.pushed_date,
            thresholds=export.pushed_thresholds,
            exported_at=export.exported_at,
            verified_at=export.verified_at,
            created_at=export.created_at,
            updated_at=export.updated_at,
        )


class ExportList(BaseModel):
    exports: list[ExportOut]
    total: int
    limit: int
    offset: int


class ExportSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_export: list[Provider] = Field(
        max_length=2, description="Providers the next days' sessions are pushed to without asking."
    )


class ExportSettingsOut(BaseModel):
    auto_export: list[str]
    days_ahead: int = Field(description="How many days ahead sessions are pushed.")
    updated_at: datetime | None
