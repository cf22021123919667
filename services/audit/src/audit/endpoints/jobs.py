"""Seed 001, section Admin: `GET /api/admin/jobs` (read_only role and above) and
`POST /api/admin/jobs/:id/run` (super_admin, with the session's CSRF token), see `audit.jobs`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from audit import jobs
from audit.schemas import ExecutionList, ExecutionOut, ExecutionQueued, JobList, JobOut
from relay_contracts.events.common import Actor
from relay_platform.auth import ReadOnlyAdmin, SuperAdmin
from relay_platform.db import SessionDep
from relay_platform.web import TopicPrefix

router = APIRouter(prefix="/api/admin/jobs", tags=["jobs"])

JobId = Annotated[str, Path(max_length=200, description="`<service>.<worker_name>`")]


@router.get("", summary="Every scheduled job of every service, with its last run and totals")
async def list_jobs(admin: ReadOnlyAdmin, session: SessionDep) -> JobList:
    return JobList(jobs=[JobOut.of(overview) for overview in await jobs.overview(session)])


@router.post("/{job_id}/run", status_code=202, summary="Run a job now, once")
async def run_job(
    job_id: JobId, admin: SuperAdmin, session: SessionDep, topic_prefix: TopicPrefix
) -> ExecutionQueued:
    actor = Actor(type="admin", id=admin.sub)
    execution = await jobs.request_run(session, job_id, actor, topic_prefix=topic_prefix)
    return ExecutionQueued(execution=ExecutionOut.of(execution))


@router.get("/{job_id}/executions", summary="A job's latest runs, newest first")
async def list_executions(
    job_id: JobId, admin: ReadOnlyAdmin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ExecutionList:
    found = await jobs.executions(session, job_id, limit=limit)
    return ExecutionList(executions=[ExecutionOut.of(execution) for execution in found])
