"""Scheduled jobs as operators see them (seed 001: `/api/admin/jobs`): what services declared, their
last run and totals, and a run asked for by an operator, from `queued` to its end."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts import Envelope
from relay_contracts.catalog import JOB_EVENTS
from relay_contracts.events.jobs import DeclaredJob, JobFinished, JobsDeclared, JobStarted
from relay_platform.outbox import OutboxMessage

from .conftest import AuditApi

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
T0 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
RECALC = DeclaredJob(
    job_id="planning.recalc-weekly",
    worker="recalc-weekly",
    name="Weekly review",
    cron="0 6 * * 1",
    active=True,
)
JOBS = "/api/admin/jobs"


def declared(service: str, *jobs: DeclaredJob) -> Envelope:
    data = JobsDeclared(service=service, jobs=list(jobs), declared_at=T0)
    return JOB_EVENTS[service].declared.envelope(data, subject=service)


def run(
    execution_id: str,
    status: Literal["success", "failed"],
    at: datetime,
    ms: int,
    trigger: Literal["schedule", "manual"] = "schedule",
) -> list[Envelope]:
    events = JOB_EVENTS["planning"]
    common = {
        "job_id": RECALC.job_id,
        "execution_id": execution_id,
        "worker": RECALC.worker,
        "trigger": trigger,
    }
    finished = JobFinished(
        **common,
        started_at=at,
        finished_at=at + timedelta(milliseconds=ms),
        duration_ms=ms,
        status=status,
        worker_status="completed" if status == "success" else "failed",
        error=None if status == "success" else "TimeoutError: ",
    )
    return [
        events.started.envelope(JobStarted(**common, started_at=at), subject=RECALC.job_id),
        events.finished.envelope(finished, subject=RECALC.job_id),
    ]


async def test_jobs_are_listed_with_their_last_run_and_totals(audit_api: AuditApi, deliver: Deliver) -> None:
    await deliver(declared("planning", RECALC))
    await deliver(
        declared(
            "audit",
            DeclaredJob(
                job_id="audit.verify-chain",
                worker="verify-chain",
                name="Verify",
                cron="45 3 * * *",
                active=False,
            ),
        )
    )
    for week in range(10):
        for told in run(
            f"exec_{week}", "failed" if week == 3 else "success", T0 + timedelta(weeks=week), 4000 + week
        ):
            await deliver(told)

    answer = await audit_api.client.get(JOBS, headers=audit_api.identity.admin_headers("adm_1", "read_only"))

    assert answer.status_code == 200, answer.text
    jobs = {job["id"]: job for job in answer.json()["jobs"]}
    assert jobs["planning.recalc-weekly"] == {
        "id": "planning.recalc-weekly",
        "name": "Weekly review",
        "worker_name": "recalc-weekly",
        "service": "planning",
        "cron_expression": "0 6 * * 1",
        "is_active": True,
        "last_run_at": "2025-05-12T06:00:00Z",
        "last_run_status": "success",
        "last_run_duration_ms": 4009,
        "stats": {"total_runs": 10, "successful_runs": 9, "failed_runs": 1},
    }
    assert jobs["audit.verify-chain"]["is_active"] is False
    assert jobs["audit.verify-chain"]["stats"] == {"total_runs": 0, "successful_runs": 0, "failed_runs": 0}


async def test_a_job_its_service_no_longer_declares_is_no_longer_listed(
    audit_api: AuditApi, deliver: Deliver
) -> None:
    await deliver(declared("planning", RECALC))
    await deliver(declared("planning"))

    answer = await audit_api.client.get(JOBS, headers=audit_api.identity.admin_headers("adm_1", "read_only"))
    assert answer.json() == {"jobs": []}


async def test_an_operator_runs_a_job_the_command_is_staged_and_the_execution_follows_its_run(
    audit_api: AuditApi, deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await deliver(declared("planning", RECALC))
    admin = audit_api.identity.admin_headers("adm_1", "super_admin")

    answer = await audit_api.client.post(f"{JOBS}/planning.recalc-weekly/run", headers=admin)

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["success"] is True and body["execution"]["status"] == "queued"
    execution_id = body["execution"]["id"]
    async with sessionmaker() as session:
        [command] = await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.event_type) == "audit.job.run_requested")
        )
    assert command.topic.endswith("relay.audit.events")
    assert command.payload["data"] | {"requested_at": None} == {
        "execution_id": execution_id,
        "job_id": "planning.recalc-weekly",
        "service": "planning",
        "worker": "recalc-weekly",
        "requested_at": None,
        "actor": {"type": "admin", "id": "adm_1"},
    }

    for told in run(execution_id, "success", datetime.now(UTC), 1200, trigger="manual"):
        await deliver(told)

    executions = await audit_api.client.get(f"{JOBS}/planning.recalc-weekly/executions", headers=admin)
    [done] = executions.json()["executions"]
    assert (done["id"], done["trigger"], done["status"], done["duration_ms"]) == (
        execution_id,
        "manual",
        "success",
        1200,
    )
    assert done["queued_at"] == body["execution"]["queued_at"]


async def test_who_may_run_a_job_and_what_cannot_be_run(audit_api: AuditApi, deliver: Deliver) -> None:
    await deliver(declared("planning", RECALC))
    path = f"{JOBS}/planning.recalc-weekly/run"
    identity = audit_api.identity

    read_only = await audit_api.client.post(path, headers=identity.admin_headers("adm_1", "read_only"))
    no_csrf = await audit_api.client.post(
        path, headers=identity.admin_headers("adm_1", "super_admin", csrf=False)
    )
    anonymous = await audit_api.client.post(path)
    unknown = await audit_api.client.post(
        f"{JOBS}/planning.nothing/run", headers=identity.admin_headers("adm_1", "super_admin")
    )

    assert (read_only.status_code, read_only.json()["error"]["code"]) == (403, "forbidden")
    assert (no_csrf.status_code, no_csrf.json()["error"]["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
