"""Scheduled jobs against the real PostgreSQL and Redis: what a run tells, a run asked for by an
operator executed once, one replica per tick."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts.catalog import AUDIT_JOB_RUN_REQUESTED
from relay_contracts.events.audit import JobRunRequested
from relay_contracts.events.common import Actor
from relay_platform import jobs as jobs_module
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers, Delivery, ProcessedMessage
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.jobs import JobMetrics, ScheduledJob, Scheduler
from relay_platform.metrics import PlatformMetrics
from relay_platform.outbox import OutboxMessage

pytestmark = pytest.mark.integration


@dataclass
class Runs:
    count: int = 0
    fail_with: Exception | None = None

    async def run(self) -> int:
        self.count += 1
        if self.fail_with:
            raise self.fail_with
        return 42


@pytest.fixture
async def sessionmaker(fresh_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database)
    async with engine.begin() as connection:
        tables = [OutboxMessage.__table__, ProcessedMessage.__table__]  # type: ignore[attr-defined]
        await connection.run_sync(SQLModel.metadata.create_all, tables=tables)
    yield create_sessionmaker(engine)
    await engine.dispose()


def scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, runs: Runs, *, enabled: bool = True
) -> Scheduler:
    job = ScheduledJob("recalc-weekly", "Weekly review of programs", "0 6 * * 1", runs.run)
    return Scheduler(
        service="planning",
        jobs=[job],
        sessionmaker=sessionmaker,
        redis=redis,
        topic_prefix="t.",
        metrics=JobMetrics(CollectorRegistry()),
        enabled=enabled,
    )


async def staged(sessionmaker: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list(await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.created_at))))


async def test_a_run_tells_its_start_and_its_end_with_status_and_duration(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    runs = Runs()
    finished = await scheduler(sessionmaker, redis, runs).run(
        scheduler(sessionmaker, redis, runs).jobs["recalc-weekly"], trigger="schedule"
    )

    assert runs.count == 1
    started, ended = await staged(sessionmaker)
    assert (started.event_type, ended.event_type) == ("planning.job.started", "planning.job.finished")
    assert started.topic == ended.topic == "t.relay.planning.events"
    assert started.payload["data"]["execution_id"] == ended.payload["data"]["execution_id"]
    data = ended.payload["data"]
    assert (data["job_id"], data["status"], data["worker_status"], data["result"]) == (
        "planning.recalc-weekly",
        "success",
        "completed",
        "42",
    )
    assert data["duration_ms"] == finished.duration_ms >= 0


async def test_a_failing_run_is_told_failed_with_its_error_redacted_not_raised(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    runs = Runs(fail_with=RuntimeError("GET https://provider.test/v1/me?access_token=abc123secret: 500"))
    jobs = scheduler(sessionmaker, redis, runs)

    finished = await jobs.run(jobs.jobs["recalc-weekly"], trigger="schedule")

    assert (finished.status, finished.worker_status) == ("failed", "failed")
    assert finished.error is not None and finished.error.startswith("RuntimeError")
    assert "abc123secret" not in str((await staged(sessionmaker))[-1].payload)


async def test_a_service_declares_its_jobs_inactive_when_its_schedule_is_off(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    await scheduler(sessionmaker, redis, Runs(), enabled=False).declare()

    [declared] = await staged(sessionmaker)
    assert declared.event_type == "planning.jobs.declared"
    assert declared.payload["data"]["jobs"] == [
        {
            "job_id": "planning.recalc-weekly",
            "worker": "recalc-weekly",
            "name": "Weekly review of programs",
            "cron": "0 6 * * 1",
            "active": False,
        }
    ]


def run_request(service: str, worker: str) -> Delivery:
    command = JobRunRequested(
        execution_id=f"exec_{uuid.uuid4().hex}",
        job_id=f"{service}.{worker}",
        service=service,
        worker=worker,
        requested_at=datetime.now(UTC),
        actor=Actor(type="admin", id="adm_1"),
    )
    envelope = AUDIT_JOB_RUN_REQUESTED.envelope(command, subject=command.job_id)
    return Delivery(envelope.to_bytes(), {"event_type": envelope.type}, "t.relay.audit.events", 0, 1)


async def test_a_run_asked_for_by_an_operator_is_executed_once_by_the_owning_service(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, fresh_database: str
) -> None:
    runs = Runs()
    jobs = scheduler(sessionmaker, redis, runs, enabled=False)
    registry = CollectorRegistry()
    consumers = Consumers(
        service="planning",
        settings=ServiceSettings(database_url=fresh_database),
        broker=None,  # type: ignore[arg-type]  # nothing is dead-lettered here
        sessionmaker=sessionmaker,
        metrics=PlatformMetrics(registry),
    )
    handlers = {AUDIT_JOB_RUN_REQUESTED.type: jobs.on_run_requested}
    mine, theirs = run_request("planning", "recalc-weekly"), run_request("export", "auto-export")

    for _ in range(2):  # the command redelivered
        await consumers.process("planning.job-runs", handlers, None, [mine, theirs])

    assert runs.count == 1
    finished = [m for m in await staged(sessionmaker) if m.event_type == "planning.job.finished"]
    assert [(m.payload["data"]["trigger"], m.payload["data"]["status"]) for m in finished] == [
        ("manual", "success")
    ]
    assert finished[0].payload["data"]["execution_id"] in mine.body.decode()


async def test_one_tick_of_the_schedule_runs_on_one_replica(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    tick = datetime.now(UTC).replace(microsecond=0) + timedelta(
        seconds=1, microseconds=uuid.uuid4().int % 999
    )
    monkeypatch.setattr(
        jobs_module, "next_run", lambda cron, after: tick if after < tick else tick + timedelta(days=7)
    )
    runs = Runs()
    replicas = [scheduler(sessionmaker, redis, runs) for _ in range(3)]

    async with replicas[0].scheduled(), replicas[1].scheduled(), replicas[2].scheduled():
        await asyncio.sleep((tick - datetime.now(UTC)).total_seconds() + 1.0)

    assert runs.count == 1


def test_a_job_must_have_a_five_field_cron_expression() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="cron"):
        ScheduledJob("x", "X", "every monday", nothing)
    with pytest.raises(ValueError, match="cron"):
        ScheduledJob("x", "X", "0 0 6 * * 1", nothing)
    assert jobs_module.next_run("0 6 * * 1", datetime(2026, 11, 21, 12, tzinfo=UTC)) == datetime(
        2026, 11, 23, 6, tzinfo=UTC
    )
