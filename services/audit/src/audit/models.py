"""Tables of the audit service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, func
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.outbox import OutboxMessage

__all__ = ["AuditEntry", "OutboxMessage", "ProcessedMessage"]


class AuditEntry(SQLModel, table=True):
    """One event that happened in Relay. Entries are only ever appended."""

    __tablename__ = "audit_entries"

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: uuid.UUID = Field(unique=True)
    event_type: str = Field(index=True)
    event_version: int
    entity_type: str = Field(index=True)
    entity_id: str = Field(index=True)
    actor_type: str = Field(index=True)
    actor_id: str | None = None
    producer: str
    trigger_worker: str | None = None
    worker_status: str | None = None
    trace_id: str | None = None
    payload_digest: str
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    recorded_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
