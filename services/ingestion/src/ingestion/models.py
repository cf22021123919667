"""Tables of the ingestion service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.outbox import OutboxMessage

__all__ = ["OutboxMessage", "ProcessedMessage", "ProviderNotification"]


class ProviderNotification(SQLModel, table=True):
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
