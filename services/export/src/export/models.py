"""Tables of the export service's own database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "AthleteProfile",
    "ExportSettings",
    "ExportTable",
    "OutboxMessage",
    "PlannedSession",
    "ProcessedMessage",
    "WorkoutExport",
    "metadata",
]

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


class PlannedSession(ExportTable, table=True):
    """A session of the athlete's plan as planning last described it (`planning.session.scheduled`,
    `.changed`): what the workout files and pushes are made from."""

    __tablename__ = "planned_sessions"

    session_id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    program_id: str
    scheduled_date: date
    sport: str
    session_type: str
    title: str
    duration_minutes: int
    workout: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    thresholds: dict[str, Any] | None = Field(
        default=None,
        sa_column=Column(JSONB, nullable=True),
        description="The thresholds planning computed the targets from (`WorkoutThresholds`).",
    )
    planned_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False),
        description="When planning last changed the session: a later profile wins over its thresholds.",
    )


class ExportSettings(ExportTable, table=True):
    """An athlete's choice of providers their next days are pushed to without asking."""

    __tablename__ = "export_settings"

    user_id: str = Field(primary_key=True)
    auto_export: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WorkoutExport(ExportTable, table=True):
    """A session's workout on one provider: what should be there (`action`), how far sending it got
    (`status`) and what the provider has (its ids, the digest and thresholds of what was pushed).

    One row per session and provider, so asking again, retrying or re-pushing after a change never makes
    a second workout: the row remembers the one the provider has."""

    __tablename__ = "workout_exports"
    __table_args__ = (
        UniqueConstraint("session_id", "provider", name="uq_workout_exports_session_provider"),
        Index("ix_workout_exports_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
        Index(
            "uq_workout_exports_idempotency_key",
            "user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    session_id: str
    provider: str
    action: str = Field(description="`push` (create or update) or `remove`.")
    status: str = Field(description="queued, sending, exported, failed or removed.")
    idempotency_key: str | None = Field(default=None, description="The key of the request that asked.")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    in_doubt: bool = Field(
        default=False,
        description="An attempt may have reached the provider without an answer: look before creating.",
    )
    failure_reason: str | None = None
    last_error: str | None = None
    provider_workout_id: str | None = None
    provider_schedule_id: str | None = None
    pushed_digest: str | None = Field(default=None, description="SHA-256 of what the provider has.")
    pushed_date: date | None = None
    pushed_thresholds: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    exported_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    verified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    traceparent: str | None = Field(
        default=None, description="The trace of what queued it last: sending it continues that trace."
    )
