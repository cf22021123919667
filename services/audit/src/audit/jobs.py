"""Use cases of scheduled jobs, as operators see them (seed 001: `/api/admin/jobs`).

Every service that runs jobs declares them when it starts and tells each run's start and end on its
topic (`relay_platform.jobs`). The trail consumer also keeps, per job, its last declaration and its
executions; an operator's request to run a job now is an execution `queued` here, and the command
`audit.job.run_requested` staged in the same transaction, which the owning service consumes and
executes once; its start and end then move the execution to `running`, then `success` or `failed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import repository
from audit.models import Job, JobExecution
from relay_contracts import Envelope
from relay_contracts.catalog import AUDIT_JOB_RUN_REQUESTED
from relay_contracts.events.audit import JobRunRequested
from relay_contracts.events.common import Actor
from relay_contracts.events.jobs import JobFinished, JobsDeclared, JobStarted
from relay_platform.errors import Conflict, NotFound
from relay_platform.outbox import add_event


@dataclass(frozen=True)
class JobStats:
    total_runs: int
    successful_runs: int
    failed_runs: int


@dataclass(frozen=True)
class JobOverview:
    job: Job
    last_run: JobExecution | None
    stats: JobStats


async def record_declaration(session: AsyncSession, envelope: Envelope) -> None:
    declared = JobsDeclared.model_validate(envelope.data)
    await repository.save_declared_jobs(
        session,
        declared.service,
        [
            Job(
                id=job.job_id,
                service=declared.service,
                worker=job.worker,
                name=job.name,
                cron=job.cron,
                active=job.active,
                declared=True,
                declared_at=declared.declared_at,
            )
            for job in declared.jobs
        ],
    )


async def record_start(session: AsyncSession, envelope: Envelope) -> None:
    started = JobStarted.model_validate(envelope.data)
    await repository.save_execution_start(
        session,
        JobExecution(
            id=started.execution_id,
            job_id=started.job_id,
            trigger=started.trigger,
            status="running",
            started_at=started.started_at,
        ),
    )


async def record_end(session: AsyncSession, envelope: Envelope) -> None:
    finished = JobFinished.model_validate(envelope.data)
    await repository.save_execution_end(
        session,
        JobExecution(
            id=finished.execution_id,
            job_id=finished.job_id,
            trigger=finished.trigger,
            status=finished.status,
            started_at=finished.started_at,
            finished_at=finished.finished_at,
            duration_ms=finished.duration_ms,
            result=finished.result,
            error=finished.error,
        ),
    )


async def overview(session: AsyncSession) -> list[JobOverview]:
    """Every job its service still declares, with its last finished run and its totals."""
    jobs = await repository.declared_jobs(session)
    last_runs = await repository.last_finished_runs(session)
    totals = await repository.run_totals(session)
    return [
        JobOverview(
            job=job,
            last_run=last_runs.get(job.id),
            stats=JobStats(*totals.get(job.id, (0, 0, 0))),
        )
        for job in jobs
    ]


async def request_run(session: AsyncSession, job_id: str, actor: Actor, *, topic_prefix: str) -> JobExecution:
    """Queues a run of `job_id` and stages the command its service executes once."""
    job = await repository.job(session, job_id)
    if job is None:
        raise NotFound("No such job", details={"job_id": job_id})
    if not job.declared:
        raise Conflict("Its service no longer has this job", details={"job_id": job_id})
    now = datetime.now(UTC)
    execution = JobExecution(
        id=f"exec_{uuid.uuid4().hex}",
        job_id=job.id,
        trigger="manual",
        status="queued",
        requested_by=actor.id,
        queued_at=now,
    )
    await repository.add_execution(session, execution)
    command = JobRunRequested(
        execution_id=execution.id,
        job_id=job.id,
        service=job.service,
        worker=job.worker,
        requested_at=now,
        actor=actor,
    )
    await add_event(
        session, AUDIT_JOB_RUN_REQUESTED.envelope(command, subject=job.id), topic_prefix=topic_prefix
    )
    return execution


async def executions(session: AsyncSession, job_id: str, *, limit: int) -> list[JobExecution]:
    if await repository.job(session, job_id) is None:
        raise NotFound("No such job", details={"job_id": job_id})
    return await repository.executions_of(session, job_id, limit=limit)
