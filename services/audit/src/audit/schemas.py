"""Request and response bodies of the audit API (seed 001, section Admin)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from audit.jobs import JobOverview
from audit.models import AuditEntry, DeadLetterRecord, JobExecution


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int


class AuditLogOut(BaseModel):
    """One entry of the trail: seed 001's fields, with the trace the event belongs to and the SHA-256
    digest of its data (the data itself is not kept)."""

    id: str = Field(description="`log_<sequence number>`: the entry's place in the chain.")
    timestamp: datetime = Field(description="When the event happened.")
    event_type: str
    entity_type: str
    entity_id: str
    actor_type: str
    actor_id: str | None
    trigger_worker: str | None = Field(description="The job whose run caused the event, if one did.")
    worker_status: str | None
    trace_id: str | None
    payload_digest: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditLogOut:
        return cls(
            id=f"log_{entry.seq}",
            timestamp=entry.occurred_at,
            event_type=entry.event_type,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            actor_type=entry.actor_type,
            actor_id=entry.actor_id,
            trigger_worker=entry.trigger_worker,
            worker_status=entry.worker_status,
            trace_id=entry.trace_id,
            payload_digest=entry.payload_digest,
        )


class AuditLogList(BaseModel):
    logs: list[AuditLogOut]
    pagination: Pagination


class AthleteTrail(BaseModel):
    """Everything Relay recorded about an athlete, oldest first."""

    athlete_id: str
    generated_at: datetime
    entries: list[AuditLogOut]


class JobStatsOut(BaseModel):
    total_runs: int
    successful_runs: int
    failed_runs: int


class JobOut(BaseModel):
    id: str = Field(description="`<service>.<worker_name>`")
    name: str
    worker_name: str
    service: str
    cron_expression: str = Field(description="Five fields, UTC.")
    is_active: bool
    last_run_at: datetime | None = Field(description="When the last finished run started.")
    last_run_status: Literal["success", "failed"] | None
    last_run_duration_ms: int | None
    stats: JobStatsOut

    @classmethod
    def of(cls, overview: JobOverview) -> JobOut:
        job, last = overview.job, overview.last_run
        return cls(
            id=job.id,
            name=job.name,
            worker_name=job.worker,
            service=job.service,
            cron_expression=job.cron,
            is_active=job.active,
            last_run_at=last.started_at if last else None,
            last_run_status=last.status if last else None,  # type: ignore[arg-type]
            last_run_duration_ms=last.duration_ms if last else None,
            stats=JobStatsOut(**vars(overview.stats)),
        )


class JobList(BaseModel):
    jobs: list[JobOut]


class ExecutionOut(BaseModel):
    id: str
    job_id: str
    trigger: Literal["schedule", "manual"]
    status: Literal["queued", "running", "success", "failed"]
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    result: str | None
    error: str | None

    @classmethod
    def of(cls, execution: JobExecution) -> ExecutionOut:
        return cls.model_validate(execution, from_attributes=True)


class ExecutionQueued(BaseModel):
    success: bool = True
    execution: ExecutionOut


class ExecutionList(BaseModel):
    executions: list[ExecutionOut]


class DeadLetterOut(BaseModel):
    """A message a consumer gave up on. `status`: pending, or replayed (published again to its original
    topic; `replays` counts how many times)."""

    id: uuid.UUID
    consumer: str = Field(description="The consumer that gave up, `<service>.<consumer>`.")
    reason: str
    attempts: int
    failed_at: datetime
    original_topic: str
    original_partition: int | None
    original_offset: int | None
    event_type: str | None
    event_id: str | None = Field(description="The envelope's id; unknown when the body is not an envelope.")
    status: str = Field(description="pending or replayed")
    replayed_at: datetime | None
    replayed_by: str | None
    replays: int

    @classmethod
    def of(cls, record: DeadLetterRecord) -> DeadLetterOut:
        return cls(
            id=record.id,
            consumer=record.consumer,
            reason=record.reason,
            attempts=record.attempts,
            failed_at=record.failed_at,
            original_topic=record.original_topic,
            original_partition=record.original_partition,
            original_offset=record.original_offset,
            event_type=record.event_type,
            event_id=record.event_id,
            status=record.status,
            replayed_at=record.replayed_at,
            replayed_by=record.replayed_by,
            replays=record.replays,
        )


class DeadLetterDetail(DeadLetterOut):
    message: Any = Field(description="The message as it was received: its JSON, or its text if not JSON.")
    headers: dict[str, str] = Field(description="The message's own headers (not the dead-lettering ones).")

    @classmethod
    def of_message(cls, record: DeadLetterRecord, message: Any) -> DeadLetterDetail:
        return cls(**DeadLetterOut.of(record).model_dump(), message=message, headers=record.headers)


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterOut]
    pagination: Pagination


class DeadLetterReplay(BaseModel):
    success: Literal[True] = True
    dead_letter: DeadLetterOut
