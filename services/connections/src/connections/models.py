"""Tables of the connections service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "ConnectionsTable",
    "OutboxMessage",
    "ProcessedMessage",
    "ProviderAccountActivity",
    "ProviderCredential",
    "metadata",
]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class ConnectionsTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class ProviderAccountActivity(ConnectionsTable, table=True):
    """What each provider account last told us: how many notifications, when, and whether the athlete
    withdrew Relay's access at the provider. It tells live links from long-unused or revoked ones."""

    __tablename__ = "provider_account_activity"

    provider: str = Field(primary_key=True)
    provider_user_id: str = Field(primary_key=True)
    notifications_received: int = 0
    last_notification_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deauthorized_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class ProviderCredential(ConnectionsTable, table=True):
    """An athlete's tokens at a provider, sealed under the service's keyring (`key_id` names the key).
    Each token is sealed for its own row and purpose (`<provider>:<user_id>:access|refresh`), so a sealed
    value copied elsewhere does not open. One per athlete and provider: a newer grant replaces it."""

    __tablename__ = "provider_credentials"
    __table_args__ = (
        UniqueConstraint("user_id", "provider", name="uq_provider_credentials_user_provider"),
        Index("ix_provider_credentials_provider_user", "provider", "provider_user_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str
    provider: str
    provider_user_id: str
    scopes: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    access_token_sealed: str
    refresh_token_sealed: str
    key_id: str
    access_expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
