"""Tables of the ingestion service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "Activity",
    "ActivityMerge",
    "ApiKey",
    "BridgeUpload",
    "IngestionTable",
    "OutboxMessage",
    "ProcessedMessage",
    "ProviderLink",
    "ProviderNotification",
    "SyncRun",
    "metadata",
]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class IngestionTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class ProviderNotification(IngestionTable, table=True):
    """A webhook notification exactly as a provider sent it, stored before it is acknowledged; the
    worker then fetches what it points to (`status` pending → processed | ignored | failed)."""

    __tablename__ = "provider_notifications"
    __table_args__ = (
        UniqueConstraint("provider", "fingerprint", name="uq_provider_notifications_fingerprint"),
        Index(
            "ix_provider_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider: str
    fingerprint: str = Field(description="sha256 of the canonical payload: a redelivery has the same one.")
    owner_id: str = Field(index=True)
    object_type: str
    object_id: str
    aspect_type: str
    event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    status: str = Field(default="pending", description="pending, processed, ignored or failed.")
    attempts: int = 0
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    processed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = None
    traceparent: str | None = Field(
        default=None, description="The trace of the webhook request: reading it continues that trace."
    )


class ApiKey(IngestionTable, table=True):
    """An athlete's API key for a bridge app, as identity's events describe it: only its SHA-256 digest,
    so that a request is verified here without asking identity."""

    __tablename__ = "api_keys"

    api_key_id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    key_sha256: str = Field(unique=True, description="Hex SHA-256 of the whole key.")
    prefix: str
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_use_reported_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True)),
        description="When `ingestion.api_key.used` was last staged for this key (at most once a minute).",
    )


class BridgeUpload(IngestionTable, table=True):
    """A bridge app's upload (Apple Health / Google Fit export) exactly as it arrived, stored before it
    is acknowledged; normalizing it into activities is a later step."""

    __tablename__ = "bridge_uploads"
    __table_args__ = (UniqueConstraint("user_id", "fingerprint", name="uq_bridge_uploads_fingerprint"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str
    api_key_id: str
    fingerprint: str = Field(description="sha256 of the canonical payload: a redelivery has the same one.")
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class ProviderLink(IngestionTable, table=True):
    """An athlete's link to a provider account, as the connections service's events describe it: who a
    notification is about, and which accounts to backfill and poll."""

    __tablename__ = "provider_links"
    __table_args__ = (UniqueConstraint("provider", "provider_user_id", name="uq_provider_links_account"),)

    connection_id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    provider: str
    provider_user_id: str
    status: str = Field(default="active", description="active, reauth_required or revoked.")
    is_active: bool = Field(default=True, description="False while the athlete pauses the connection.")
    linked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_polled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Activity(IngestionTable, table=True):
    """One activity of one provider, in Relay's model (`providers.base.ActivityData`), upserted by
    (provider, external id). When the same workout came from two providers, the copy that is not shown
    points at the one that is (`duplicate_of`), and `activity_merges` keeps the lineage."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("provider", "external_id", name="uq_activities_provider_external_id"),
        Index("ix_activities_user_start", "user_id", "start_time"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str
    connection_id: str | None = None
    provider: str
    external_id: str
    provider_user_id: str | None = None
    sport: str
    sub_sport: str | None = None
    sport_type: str
    name: str | None = None
    start_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    timezone: str | None = None
    utc_offset_seconds: int | None = None
    elapsed_time_s: int | None = None
    moving_time_s: int | None = None
    distance_m: float | None = None
    elevation_gain_m: float | None = None
    average_heartrate: float | None = None
    max_heartrate: float | None = None
    average_power_w: float | None = None
    max_power_w: float | None = None
    normalized_power_w: float | None = None
    average_speed_mps: float | None = None
    max_speed_mps: float | None = None
    average_cadence: float | None = None
    calories: float | None = None
    device_name: str | None = None
    is_manual: bool = False
    raw: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    duplicate_of: uuid.UUID | None = Field(
        default=None, foreign_key="activities.id", index=True, ondelete="SET NULL"
    )
    matched_session_id: str | None = Field(default=None, description="The planned session it completed.")
    revision: int = Field(default=1, description="Incremented by each change from the provider.")
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class ActivityMerge(IngestionTable, table=True):
    """Two providers' copies of one workout recognized as the same: the lineage of a merge, and its
    undoing (an undone pair is never merged again)."""

    __tablename__ = "activity_merges"
    __table_args__ = (UniqueConstraint("kept_id", "duplicate_id", name="uq_activity_merges_pair"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str = Field(index=True)
    kept_id: uuid.UUID = Field(foreign_key="activities.id", ondelete="CASCADE")
    duplicate_id: uuid.UUID = Field(foreign_key="activities.id", ondelete="CASCADE", index=True)
    evidence: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False), description="Overlap, sport, distances: why they matched."
    )
    merged_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    undone_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    undone_by: str | None = None


class SyncRun(IngestionTable, table=True):
    """A backfill, poll or requested synchronisation of one connection, resumable: its cursor is
    committed with each page it stores, and a run whose worker died is taken over when its lease ends."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index(
            "ix_sync_runs_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'running')")
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    connection_id: str = Field(index=True)
    user_id: str = Field(index=True)
    provider: str
    provider_user_id: str
    trigger: str = Field(description="manual, link, webhook or schedule.")
    since: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="pending", description="pending, running, success, partial or failed.")
    cursor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    pages: int = 0
    activities_fetched: int = 0
    activities_created: int = 0
    activities_updated: int = 0
    activities_skipped: int = 0
    expected_total: int | None = None
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    error: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
