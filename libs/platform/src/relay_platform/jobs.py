"""Scheduled jobs of a service: each runs every `interval_seconds` in the service's process, for as long
as the service runs. A failing run is logged and counted, and the next one comes on schedule. Jobs
must be safe to run on several replicas at once (lock the rows they work on, `SKIP LOCKED`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from relay_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]
    """One run; what it returns (a count, usually) is logged."""


class JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter(
            "relay_job_runs_total",
            "Runs of scheduled jobs, by outcome.",
            ["job", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "relay_job_duration_seconds",
            "Time a scheduled job's run took.",
            ["job"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
            registry=registry,
        )


async def run_once(job: PeriodicJob, metrics: JobMetrics | None = None) -> None:
    started = time.monotonic()
    try:
        result = await job.run()
    except Exception:
        log.exception("job_failed", job=job.name)
        if metrics:
            metrics.runs.labels(job=job.name, outcome="failed").inc()
        return
    elapsed = time.monotonic() - started
    log.info("job_ran", job=job.name, result=result, duration_ms=round(elapsed * 1000, 1))
    if metrics:
        metrics.runs.labels(job=job.name, outcome="succeeded").inc()
        metrics.duration.labels(job=job.name).observe(elapsed)


@asynccontextmanager
async def running(jobs: Sequence[PeriodicJob], metrics: JobMetrics | None = None) -> AsyncIterator[None]:
    """Runs `jobs` on their schedules while the block runs; stops them when it ends."""

    async def loop(job: PeriodicJob) -> None:
        while True:
            await run_once(job, metrics)
            await asyncio.sleep(job.interval_seconds)

    tasks = [asyncio.create_task(loop(job), name=f"job:{job.name}") for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
