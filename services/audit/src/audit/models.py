"""Tables of the audit service's own database."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, LargeBinary, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "AuditEntry",
    "AuditTable",
    "ChainAnchor",
    "DeadLetterRecord",
    "Job",
    "JobExecution",
    "OutboxMessage",
    "ProcessedMessage",
    "metadata",
]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class AuditTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


class AuditEntry(AuditTable, table=True):
    """One event that happened in Relay, appended in the order the trail recorded it and chained to the
    entry before it by hash (see `audit.chain`). An erased athlete's entries keep only their place in the
    chain: their fields are emptied and `redacted_at` set (see `audit.service`)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_event_type_occurred_at", "event_type", "occurred_at"),
        Index("ix_audit_entries_entity_type_occurred_at", "entity_type", "occurred_at"),
        Index("ix_audit_entries_actor_type_occurred_at", "actor_type", "occurred_at"),
    )

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: uuid.UUID | None = Field(default=None, unique=True)
    event_type: str | None = None
    event_version: int | None = None
    entity_type: str | None = None
    entity_id: str | None = Field(default=None, index=True)
    subject: str | None = Field(
        default=None,
        index=True,
        description="The envelope's subject (usually the athlete); unknown for entries older than it.",
    )
    actor_type: str | None = None
    actor_id: str | None = Field(default=None, index=True)
    producer: str | None = None
    trigger_worker: str | None = None
    worker_status: str | None = None
    trace_id: str | None = None
    payload_digest: str | None = None
    occurred_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    erased_entries: int | None = Field(
        default=None, description="On an athlete's deletion: how many of their entries it erased."
    )
    recorded_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    content_hash: str = Field(description="SHA-256 of the entry's fields (`audit.chain.content_hash`).")
    chain_hash: str = Field(description="SHA-256 of the previous entry's chain hash and this content hash.")
    redacted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class ChainAnchor(AuditTable, table=True):
    """Where the chain starts once old entries are pruned: the last pruned entry's sequence number and
    chain hash, so that the first kept entry can still be checked against it. One row at most."""

    __tablename__ = "audit_chain_anchor"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    chain_hash: str
    pruned_entries: int = Field(sa_column=Column(BigInteger, nullable=False))
    redacted_pruned_early: int = Field(
        default=0,
        sa_column=Column(BigInteger, nullable=False),
        description="Entries erased by a deletion that is still kept, pruned before that deletion was.",
    )
    pruned_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Job(AuditTable, table=True):
    """A scheduled job as the service running it last declared it (`<service>.jobs.declared`)."""

    __tablename__ = "jobs"

    id: str = Field(primary_key=True, description="`<service>.<worker>`")
    service: str = Field(index=True)
    worker: str
    name: str
    cron: str
    active: bool
    declared: bool = Field(default=True, description="False once its service no longer declares it.")
    declared_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class JobExecution(AuditTable, table=True):
    """One run of a job: asked for by an operator (`queued` first) or started by its schedule."""

    __tablename__ = "job_executions"
    __table_args__ = (Index("ix_job_executions_job_id_started_at", "job_id", "started_at"),)

    id: str = Field(primary_key=True)
    job_id: str = Field(index=True)
    trigger: str
    status: str = Field(description="queued, running, success or failed")
    requested_by: str | None = None
    queued_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    duration_ms: int | None = None
    result: str | None = None
    error: str | None = None


class DeadLetterRecord(AuditTable, table=True):
    """A message a consumer gave up on, as the dead-letter topic holds it: the bytes unchanged, so that
    it can be published again once the cause is fixed. Stored once per record of the topic."""

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("dlq_partition", "dlq_offset"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    dlq_partition: int = Field(description="With `dlq_offset`, where the record is on the dead-letter topic.")
    dlq_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    consumer: str = Field(index=True)
    reason: str
    attempts: int
    failed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    original_topic: str
    original_partition: int | None = None
    original_offset: int | None = Field(default=None, sa_column=Column(BigInteger))
    key: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    event_type: str | None = Field(default=None, index=True)
    event_id: str | None = None
    status: str = Field(default="pending", index=True, description="pending or replayed")
    replayed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    replayed_by: str | None = None
    replays: int = 0
