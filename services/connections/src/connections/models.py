"""Tables of the connections service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, UniqueConstraint, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "ConnectionsTable",
    "LinkAttempt",
    "OutboxMessage",
    "ProcessedMessage",
    "ProviderAccountActivity",
    "ProviderConnection",
    "ProviderSubscription",
    "SyncRecord",
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
    __table_args__ = (
        # Only the deauthorizations waiting for their provider: the job retrying them reads this index.
        Index(
            "ix_provider_account_activity_deauthorization_unconfirmed",
            "deauthorization_unconfirmed_at",
            postgresql_where=text("deauthorization_unconfirmed_at IS NOT NULL"),
        ),
    )

    provider: str = Field(primary_key=True)
    provider_user_id: str = Field(primary_key=True)
    notifications_received: int = 0
    last_notification_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deauthorized_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    """When the provider said, or confirmed, that the athlete withdrew Relay's access."""
    deauthorization_unconfirmed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    """When the provider last could not confirm a deauthorization of the account (failing, rate-limiting,
    unreachable); None when none waits. It is asked again later, longest unasked first, and nothing is
    erased meanwhile."""


class ProviderConnection(ConnectionsTable, table=True):
    """An athlete's link to a provider account (seed 002's `provider_connections`), one per athlete and
    provider. Tokens are sealed under the service's keyring (`key_id` names the key that sealed them),
    each for its own athlete, provider and purpose, so a sealed value copied elsewhere does not open.

    `status` is what the provider thinks of the grant (`active`, `reauth_required`, `revoked`);
    `is_active` is the athlete's own switch (a paused connection is neither synced nor handed out)."""

    __tablename__ = "provider_connections"
    __table_args__ = (
        UniqueConstraint("user_id", "provider", name="uq_provider_connections_user_provider"),
        Index("ix_provider_connections_provider_user", "provider", "provider_user_id"),
        Index("ix_provider_connections_access_expires_at", "access_expires_at"),
        # Only the links waiting for their athlete: counting them per provider reads this index alone.
        Index(
            "ix_provider_connections_reauth_required",
            "provider",
            postgresql_where=text("status = 'reauth_required'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str
    provider: str
    provider_user_id: str
    auth_type: str
    status: str = "active"
    status_reason: str | None = None
    is_active: bool = True
    scopes: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    access_token_sealed: str | None = None
    refresh_token_sealed: str | None = None
    token_secret_sealed: str | None = None
    data_key_sealed: str | None = None
    """The connection's data key, which encrypts its tokens, sealed by the keyring key `key_id`."""
    key_id: str | None = None
    access_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    refresh_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    provider_username: str | None = None
    provider_profile: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    linked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_refreshed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    refresh_failures: int = 0
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_sync_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_sync_error: str | None = None
    warnings_sent: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    """When each kind of warning was last published (`reason -> ISO time`), so none is repeated daily."""
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class SyncRecord(ConnectionsTable, table=True):
    """One synchronisation of a connection (seed 002's `sync_history`): asked for by the athlete or
    started by ingestion, and fed by ingestion's `ingestion.sync.*` events."""

    __tablename__ = "sync_history"
    __table_args__ = (Index("ix_sync_history_connection_requested", "connection_id", "requested_at"),)

    id: uuid.UUID = Field(primary_key=True)
    connection_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("provider_connections.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: str
    provider: str
    trigger: str
    status: str
    """`requested`, `running`, then `success`, `partial` or `failed`."""
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    activities_fetched: int = 0
    activities_created: int = 0
    activities_updated: int = 0
    activities_skipped: int = 0
    percent: float | None = None
    error_message: str | None = None


class LinkAttempt(ConnectionsTable, table=True):
    """A link flow under way: the state sent to the provider (stored hashed), the athlete it belongs to,
    the PKCE verifier (sealed) and where the app wants to be sent back. Single use, short-lived."""

    __tablename__ = "link_attempts"

    state_hash: str = Field(primary_key=True)
    user_id: str
    provider: str
    code_verifier_sealed: str | None = None
    app_redirect_uri: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class ProviderSubscription(ConnectionsTable, table=True):
    """A webhook subscription of Relay's application at a provider that expires (Oura's): renewed
    ahead of time, and its athletes warned when renewal fails."""

    __tablename__ = "provider_subscriptions"

    provider: str = Field(primary_key=True)
    subscription_id: str = Field(primary_key=True)
    data_type: str
    event_type: str
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    renewed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = None
