"""Tables of the connections service's own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.outbox import OutboxMessage

__all__ = ["OutboxMessage", "ProcessedMessage", "ProviderAccountActivity"]


class ProviderAccountActivity(SQLModel, table=True):
    """What each provider account last told us: how many notifications, when, and whether the athlete
    withdrew Relay's access at the provider. It tells live links from long-unused or revoked ones."""

    __tablename__ = "provider_account_activity"

    provider: str = Field(primary_key=True)
    provider_user_id: str = Field(primary_key=True)
    notifications_received: int = 0
    last_notification_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deauthorized_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
