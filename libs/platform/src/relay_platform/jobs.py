"""Scheduled jobs and background loops of a service.

A scheduled job (`ScheduledJob`) is what operators see and can run by hand: it has a worker name, a
name, a cron expression (five fields, UTC) and runs on that schedule in the service's process. The
service declares its jobs when it starts (`<service>.jobs.declared`), and each run tells when it
started and how it ended (`<service>.job.started` / `.finished`, with status and duration); the audit
service lists them (`GET /api/admin/jobs`) and asks for a run with the command `audit.job.run_requested`,
which the owning service consumes and executes once. With several replicas, one tick of the schedule
runs on one of them (claimed in Redis). A job must still be safe to run twice at once (a manual run
during a scheduled one): lock the rows it works on (`SKIP LOCKED`).

A loop (`PeriodicJob`) is a queue poller that runs every few seconds (the export sender): too frequent
to be a job worth listing, it is only counted in metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from croniter import croniter
from opentelemetry import trace
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import Envelope
from relay_contracts.catalog import JOB_EVENTS
from relay_contracts.events.audit import JobRunRequested
from relay_contracts.events.jobs import DeclaredJob, JobFinished, JobsDeclared, JobStarted, JobTrigger
from relay_platform.logging import get_logger, redact
from relay_platform.metrics import JobMetrics
from relay_platform.outbox import add_event

__all__ = ["JobMetrics", "PeriodicJob", "ScheduledJob", "Scheduler", "next_run", "running"]

log = get_logger(__name__)
tracer = trace.get_tracer(__name__)

TICK_CLAIM_KEY = "relay:job:{}:{}"


@dataclass(frozen=True)
class ScheduledJob:
    worker: str
    """Machine name, unique within the service (`recalc-weekly`); the job's id is `<service>.<worker>`."""
    name: str
    """What operators call it."""
    cron: str
    """Five-field cron expression, in UTC."""
    run: Callable[[], Awaitable[object]]
    """One run; what it returns (a count, usually) is logged and told in `job.finished`."""
    active: bool = True
    """Whether it runs on its schedule; it can always be run by hand."""

    def __post_init__(self) -> None:
        if len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
            raise ValueError(f"job {self.worker}: {self.cron!r} is not a five-field cron expression")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]
    """One run; what it returns (a count, usually) is logged."""


def next_run(cron: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` (UTC) names."""
    found: datetime = croniter(cron, after.astimezone(UTC)).get_next(datetime)
    return found


class Scheduler:
    """Runs a service's scheduled jobs: on their schedule (when `enabled`) and when asked."""

    def __init__(
        self,
        *,
        service: str,
        jobs: Sequence[ScheduledJob],
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        topic_prefix: str,
        metrics: JobMetrics,
        enabled: bool,
    ) -> None:
        workers = [job.worker for job in jobs]
        if len(set(workers)) != len(workers):
            raise ValueError(f"{service} declares two jobs with the same worker name")
        self.service = service
        self.jobs = {job.worker: job for job in jobs}
        self.enabled = enabled
        self._events = JOB_EVENTS[service]
        self._sessionmaker = sessionmaker
        self._redis = redis
        self._topic_prefix = topic_prefix
        self._metrics = metrics
        for job in jobs:  # 0 until the first run: the first failure shows as an increase
            for outcome in ("succeeded", "failed"):
                metrics.runs.labels(job_id=self.job_id(job), outcome=outcome)

    def job_id(self, job: ScheduledJob) -> str:
        return f"{self.service}.{job.worker}"

    async def declare(self) -> None:
        declared = JobsDeclared(
            service=self.service,
            jobs=[
                DeclaredJob(
                    job_id=self.job_id(job),
                    worker=job.worker,
                    name=job.name,
                    cron=job.cron,
                    active=job.active and self.enabled,
                )
                for job in self.jobs.values()
            ],
            declared_at=datetime.now(UTC),
        )
        await self._stage(self._events.declared.envelope(declared, subject=self.service))

    async def run(
        self, job: ScheduledJob, *, trigger: JobTrigger, execution_id: str | None = None
    ) -> JobFinished:
        """Runs `job` once, telling its start and its end; a failure is told, not raised."""
        execution_id = execution_id or f"exec_{uuid.uuid4().hex}"
        job_id = self.job_id(job)
        with tracer.start_as_current_span(f"job {job_id}", attributes={"relay.job.trigger": trigger}):
            started_at = datetime.now(UTC)
            started = JobStarted(
                job_id=job_id,
                execution_id=execution_id,
                worker=job.worker,
                trigger=trigger,
                started_at=started_at,
            )
            await self._stage(self._events.started.envelope(started, subject=job_id))
            clock = time.monotonic()
            result: object = None
            error: str | None = None
            try:
                result = await job.run()
            except Exception as exc:
                error = str(redact(f"{type(exc).__name__}: {exc}"))[:1000]
                log.exception("job_failed", job=job_id, execution_id=execution_id)
            elapsed = time.monotonic() - clock
            status: Literal["success", "failed"] = "failed" if error else "success"
            finished = JobFinished(
                job_id=job_id,
                execution_id=execution_id,
                worker=job.worker,
                trigger=trigger,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                duration_ms=round(elapsed * 1000),
                status=status,
                worker_status="failed" if error else "completed",
                result=None if result is None else str(result)[:500],
                error=error,
            )
            await self._stage(self._events.finished.envelope(finished, subject=job_id))
        self._metrics.runs.labels(job_id=job_id, outcome="succeeded" if not error else "failed").inc()
        self._metrics.duration.labels(job_id=job_id).observe(elapsed)
        log.info(
            "job_ran",
            job=job_id,
            trigger=trigger,
            status=status,
            result=finished.result,
            duration_ms=finished.duration_ms,
        )
        return finished

    async def on_run_requested(self, envelope: Envelope, session: AsyncSession) -> None:
        """The command `audit.job.run_requested`: runs the job if it is this service's. Consumed
        idempotently, so one command is one run."""
        requested = JobRunRequested.model_validate(envelope.data)
        if requested.service != self.service:
            return
        job = self.jobs.get(requested.worker) or _unknown(requested.worker, requested.job_id)
        await self.run(job, trigger="manual", execution_id=requested.execution_id)

    @asynccontextmanager
    async def scheduled(self) -> AsyncIterator[None]:
        """Runs the active jobs on their schedules while the block runs (when the scheduler is enabled)."""
        jobs = [job for job in self.jobs.values() if job.active] if self.enabled else []
        async with _tasks({f"job:{job.worker}": self._on_schedule(job) for job in jobs}):
            yield

    async def _on_schedule(self, job: ScheduledJob) -> None:
        while True:
            tick = next_run(job.cron, datetime.now(UTC))
            await asyncio.sleep(max(0.0, (tick - datetime.now(UTC)).total_seconds()))
            if await self._claim(job, tick):
                await self.run(job, trigger="schedule")

    async def _claim(self, job: ScheduledJob, tick: datetime) -> bool:
        """Whether this replica runs this tick: the first to claim it in Redis. Without Redis, each
        replica runs it (jobs are safe to run twice)."""
        key = TICK_CLAIM_KEY.format(self.job_id(job), tick.isoformat())
        try:
            return bool(await self._redis.set(key, b"1", nx=True, ex=24 * 3600))
        except (RedisError, OSError) as error:
            log.warning("job_tick_claim_unavailable", job=self.job_id(job), error=repr(error))
            return True

    async def _stage(self, envelope: Envelope) -> None:
        async with self._sessionmaker() as session, session.begin():
            await add_event(session, envelope, topic_prefix=self._topic_prefix)


def _unknown(worker: str, job_id: str) -> ScheduledJob:
    """A job the service no longer has (its declaration was older): its run fails, and says why."""

    async def fail() -> object:
        raise LookupError(f"{job_id} is not a job of this service")

    return ScheduledJob(worker, worker, "0 0 1 1 *", fail, active=False)


async def run_once(job: PeriodicJob, metrics: JobMetrics | None = None) -> None:
    started = time.monotonic()
    try:
        result = await job.run()
    except Exception:
        log.exception("job_failed", job=job.name)
        if metrics:
            metrics.runs.labels(job_id=job.name, outcome="failed").inc()
        return
    elapsed = time.monotonic() - started
    log.debug("loop_ran", job=job.name, result=result, duration_ms=round(elapsed * 1000, 1))
    if metrics:
        metrics.runs.labels(job_id=job.name, outcome="succeeded").inc()
        metrics.duration.labels(job_id=job.name).observe(elapsed)


@asynccontextmanager
async def running(jobs: Sequence[PeriodicJob], metrics: JobMetrics | None = None) -> AsyncIterator[None]:
    """Runs the loops `jobs` every `interval_seconds` while the block runs; stops them when it ends."""

    async def loop(job: PeriodicJob) -> None:
        while True:
            await run_once(job, metrics)
            await asyncio.sleep(job.interval_seconds)

    if metrics is not None:
        for job in jobs:
            for outcome in ("succeeded", "failed"):
                metrics.runs.labels(job_id=job.name, outcome=outcome)

    async with _tasks({f"loop:{job.name}": loop(job) for job in jobs}):
        yield


@asynccontextmanager
async def _tasks(work: dict[str, Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Runs the coroutines as named tasks while the block runs; cancels them when it ends."""
    tasks = [asyncio.create_task(coroutine, name=name) for name, coroutine in work.items()]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
