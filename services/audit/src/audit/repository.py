"""Every query of the audit service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, text, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.chain import CHAINED_FIELDS, GENESIS
from audit.models import AuditEntry, ChainAnchor, DeadLetterRecord, Job, JobExecution
from relay_contracts.catalog import IDENTITY_USER_DELETED

CHAIN_LOCK = 0x61756469  # one appender at a time: the chain's order is the order of appending


@dataclass(frozen=True)
class EntryFilters:
    event_type: str | None = None
    entity_type: str | None = None
    actor_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def lock_chain_head(session: AsyncSession) -> str:
    """Takes the chain for the rest of the transaction and returns the chain hash to follow."""
    await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=CHAIN_LOCK))  # type: ignore[call-overload]
    last = (
        await session.exec(select(AuditEntry.chain_hash).order_by(col(AuditEntry.seq).desc()).limit(1))
    ).first()
    if last is not None:
        return last
    anchor = await session.get(ChainAnchor, 1)
    return anchor.chain_hash if anchor else GENESIS


async def insert_entries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Appends entries in their order, their sequence numbers following that order: COPY, the fastest
    way in, on the session's own connection and transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    columns = list(rows[0])
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        AuditEntry.__tablename__,
        columns=columns,
        records=[tuple(row[name] for name in columns) for row in rows],
    )


async def known_event_ids(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    found = await session.exec(select(AuditEntry.event_id).where(col(AuditEntry.event_id).in_(event_ids)))
    return {event_id for event_id in found if event_id is not None}


async def erased_among(session: AsyncSession, user_ids: Sequence[str]) -> set[str]:
    """Those of `user_ids` whose deletion the trail recorded."""
    found = await session.exec(
        select(AuditEntry.entity_id).where(
            col(AuditEntry.event_type) == IDENTITY_USER_DELETED.type, col(AuditEntry.entity_id).in_(user_ids)
        )
    )
    return {user_id for user_id in found if user_id is not None}


def _about(subjects: Sequence[str]) -> ColumnElement[bool]:
    values = list(subjects)
    return or_(
        col(AuditEntry.subject).in_(values),
        col(AuditEntry.entity_id).in_(values),
        col(AuditEntry.actor_id).in_(values),
    )


async def count_entries_about(session: AsyncSession, subjects: Sequence[str]) -> int:
    statement = select(func.count()).select_from(AuditEntry).where(_about(subjects))
    return int((await session.exec(statement)).one())


async def redact_entries_about(
    session: AsyncSession, subjects: Sequence[str], *, except_event_id: uuid.UUID
) -> int:
    """Empties the entries whose subject, entity or actor is one of `subjects`, except one, keeping their
    place in the chain; returns how many were emptied."""
    result = await session.exec(
        update(AuditEntry)  # type: ignore[call-overload]
        .where(_about(subjects), col(AuditEntry.event_id) != except_event_id)
        .values({**dict.fromkeys(CHAINED_FIELDS), "redacted_at": func.now()})
    )
    return int(result.rowcount)


def _filtered(filters: EntryFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(AuditEntry.occurred_at).is_not(None)]
    if filters.event_type:
        conditions.append(col(AuditEntry.event_type) == filters.event_type)
    if filters.entity_type:
        conditions.append(col(AuditEntry.entity_type) == filters.entity_type)
    if filters.actor_type:
        conditions.append(col(AuditEntry.actor_type) == filters.actor_type)
    if filters.since:
        conditions.append(col(AuditEntry.occurred_at) >= filters.since)
    if filters.until:
        conditions.append(col(AuditEntry.occurred_at) < filters.until)
    return conditions


async def search_entries(
    session: AsyncSession, filters: EntryFilters, *, limit: int, offset: int
) -> tuple[int, list[AuditEntry]]:
    """The entries matching `filters`, newest first, and how many match in all."""
    conditions = _filtered(filters)
    total = (await session.exec(select(func.count()).select_from(AuditEntry).where(*conditions))).one()
    rows = await session.exec(
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.occurred_at).desc(), col(AuditEntry.seq).desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(rows)


async def entries_about(session: AsyncSession, subjects: Sequence[str]) -> list[AuditEntry]:
    """An athlete's trail, in the order it was recorded."""
    rows = await session.exec(
        select(AuditEntry)
        .where(_about(subjects), col(AuditEntry.redacted_at).is_(None))
        .order_by(col(AuditEntry.seq))
    )
    return list(rows)


async def chain_anchor(session: AsyncSession) -> ChainAnchor | None:
    return await session.get(ChainAnchor, 1)


async def entries_in_order(session: AsyncSession, batch: int = 5000) -> AsyncIterator[AuditEntry]:
    result = await session.stream(
        select(AuditEntry).order_by(col(AuditEntry.seq)).execution_options(yield_per=batch)  # type: ignore[arg-type]
    )
    async for (entry,) in result:
        yield entry


async def last_seq_recorded_before(session: AsyncSession, cutoff: datetime) -> int | None:
    statement = select(func.max(AuditEntry.seq)).where(col(AuditEntry.recorded_at) < cutoff)
    seq: int | None = (await session.exec(statement)).one()
    return seq


@dataclass(frozen=True)
class Pruned:
    entries: int
    redacted: int
    erased_by_pruned: int
    last_chain_hash: str


async def delete_entries_up_to(session: AsyncSession, seq: int) -> Pruned:
    """Deletes the chain's head up to `seq` (included) and tells what it held."""
    last_hash = (await session.exec(select(AuditEntry.chain_hash).where(col(AuditEntry.seq) == seq))).one()
    counts = (
        await session.exec(
            select(
                func.count(),
                func.count(col(AuditEntry.redacted_at)),
                func.coalesce(func.sum(col(AuditEntry.erased_entries)), 0),
            ).where(col(AuditEntry.seq) <= seq)
        )
    ).one()
    await session.exec(delete(AuditEntry).where(col(AuditEntry.seq) <= seq))  # type: ignore[call-overload]
    return Pruned(int(counts[0]), int(counts[1]), int(counts[2] or 0), last_hash)


async def save_anchor(session: AsyncSession, anchor: ChainAnchor) -> None:
    await session.merge(anchor)


async def save_declared_jobs(session: AsyncSession, service: str, jobs: Sequence[Job]) -> None:
    """The service's jobs are those it declared last: others of the service are no longer declared."""
    for job in jobs:
        await session.merge(job)
    await session.exec(
        update(Job)  # type: ignore[call-overload]
        .where(col(Job.service) == service, col(Job.id).not_in([job.id for job in jobs]))
        .values(declared=False)
    )


async def save_execution_start(session: AsyncSession, execution: JobExecution) -> None:
    """A run began: a queued manual run moves to running; a scheduled one appears."""
    values = execution.model_dump(include={"id", "job_id", "trigger", "status", "started_at"})
    statement = insert(JobExecution).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={"status": statement.excluded.status, "started_at": statement.excluded.started_at},
        where=col(JobExecution.status) == "queued",
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def save_execution_end(session: AsyncSession, execution: JobExecution) -> None:
    fields = {"status", "started_at", "finished_at", "duration_ms", "result", "error"}
    statement = insert(JobExecution).values(**execution.model_dump(exclude={"requested_by", "queued_at"}))
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={name: statement.excluded[name] for name in fields}
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def add_execution(session: AsyncSession, execution: JobExecution) -> None:
    session.add(execution)
    await session.flush()


async def job(session: AsyncSession, job_id: str) -> Job | None:
    return await session.get(Job, job_id)


async def declared_jobs(session: AsyncSession) -> list[Job]:
    rows = await session.exec(
        select(Job).where(col(Job.declared)).order_by(col(Job.service), col(Job.worker))
    )
    return list(rows)


async def last_finished_runs(session: AsyncSession) -> dict[str, JobExecution]:
    rows = await session.exec(
        select(JobExecution)
        .where(col(JobExecution.finished_at).is_not(None))
        .order_by(col(JobExecution.job_id), col(JobExecution.finished_at).desc())
        .ext(distinct_on(col(JobExecution.job_id)))
    )
    return {execution.job_id: execution for execution in rows}


async def run_totals(session: AsyncSession) -> dict[str, tuple[int, int, int]]:
    """Per job: finished runs, successful ones, failed ones."""
    finished = col(JobExecution.finished_at).is_not(None)
    rows = await session.exec(
        select(
            JobExecution.job_id,
            func.count().filter(finished),
            func.count().filter(col(JobExecution.status) == "success"),
            func.count().filter(col(JobExecution.status) == "failed"),
        ).group_by(col(JobExecution.job_id))
    )
    return {job_id: (int(total), int(succeeded), int(failed)) for job_id, total, succeeded, failed in rows}


async def executions_of(session: AsyncSession, job_id: str, *, limit: int) -> list[JobExecution]:
    rows = await session.exec(
        select(JobExecution)
        .where(col(JobExecution.job_id) == job_id)
        .order_by(func.coalesce(JobExecution.started_at, JobExecution.queued_at).desc())
        .limit(limit)
    )
    return list(rows)


async def add_dead_letters(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Stores the dead letters not stored yet, one per position on the dead-letter topic; returns how
    many were new."""
    if not rows:
        return 0
    statement = (
        insert(DeadLetterRecord)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["dlq_partition", "dlq_offset"])
        .returning(col(DeadLetterRecord.id))
    )
    return len((await session.exec(statement)).all())  # type: ignore[call-overload]


async def list_dead_letters(
    session: AsyncSession, *, status: str | None, consumer: str | None, limit: int, offset: int
) -> tuple[Sequence[DeadLetterRecord], int]:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(col(DeadLetterRecord.status) == status)
    if consumer is not None:
        conditions.append(col(DeadLetterRecord.consumer) == consumer)
    counted = select(func.count()).select_from(DeadLetterRecord).where(*conditions)
    total = (await session.exec(counted)).one()
    statement = (
        select(DeadLetterRecord)
        .where(*conditions)
        .order_by(col(DeadLetterRecord.failed_at).desc(), col(DeadLetterRecord.id))
        .limit(limit)
        .offset(offset)
    )
    return (await session.exec(statement)).all(), total


async def get_dead_letter(
    session: AsyncSession, record_id: uuid.UUID, *, for_update: bool = False
) -> DeadLetterRecord | None:
    return await session.get(DeadLetterRecord, record_id, with_for_update=for_update)


async def save_dead_letter(session: AsyncSession, record: DeadLetterRecord) -> None:
    session.add(record)
    await session.flush()


async def delete_dead_letters_about(session: AsyncSession, subjects: Sequence[str]) -> int:
    """Deletes the dead letters keyed by one of `subjects` (their bodies may hold the athlete's data)."""
    keys = [subject.encode() for subject in subjects]
    result = await session.exec(delete(DeadLetterRecord).where(col(DeadLetterRecord.key).in_(keys)))  # type: ignore[call-overload]
    return int(result.rowcount)
