"""Tables of the audit service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, func
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = ["AuditEntry", "AuditTable", "OutboxMessage", "ProcessedMessage", "metadata"]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class AuditTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class AuditEntry(AuditTable, table=True):
    """One event that happened in Relay. Entries are appended, and deleted only to erase an athlete
    (see `audit.service`)."""

    __tablename__ = "audit_entries"

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: uuid.UUID = Field(unique=True)
    event_type: str = Field(index=True)
    event_version: int
    entity_type: str = Field(index=True)
    entity_id: str = Field(index=True)
    subject: str | None = Field(
        default=None,
        index=True,
        description="The envelope's subject (usually the athlete); unknown for entries older than it.",
    )
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
