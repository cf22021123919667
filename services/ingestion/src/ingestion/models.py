"""Tables of the ingestion service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "ApiKey",
    "BridgeUpload",
    "IngestionTable",
    "OutboxMessage",
    "ProcessedMessage",
    "ProviderNotification",
    "metadata",
]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class IngestionTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class ProviderNotification(IngestionTable, table=True):
    """A webhook notification exactly as a provider sent it, stored before it is acknowledged."""

    __tablename__ = "provider_notifications"
    __table_args__ = (
        UniqueConstraint("provider", "fingerprint", name="uq_provider_notifications_fingerprint"),
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
