"""Tables of the export service's own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = ["AthleteProfile", "ExportTable", "OutboxMessage", "ProcessedMessage", "metadata"]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class ExportTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class AthleteProfile(ExportTable, table=True):
    """The athlete's training profile as identity last told it (`identity.profile.updated`): the
    thresholds that turn a session's relative intensities into a device's heart rate, power and pace
    targets."""

    __tablename__ = "athlete_profiles"

    user_id: str = Field(primary_key=True)
    birth_year: int | None = None
    gender: str | None = None
    weight_kg: float | None = None
    experience_level: str | None = None
    weekly_hours_available: float | None = None
    max_heart_rate: int | None = None
    ftp_watts: int | None = None
    threshold_pace_seconds_per_km: int | None = None
    swim_css_seconds_per_100m: int | None = None
    timezone: str
    updated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False),
        description="When identity changed the profile; an older update never replaces a newer one.",
    )
