"""Scheduled jobs, told by every service that runs some: which it declares, and each run's start and end.
The audit service lists them for operators and asks a service to run one now (`events.audit`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JobTrigger = Literal["schedule", "manual"]


class DeclaredJob(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(description="`<service>.<worker>`, unique in Relay.")
    worker: str = Field(description="The job's machine name within its service, e.g. `recalc-weekly`.")
    name: str = Field(description="What operators call it, e.g. `Weekly review of programs`.")
    cron: str = Field(description="When it runs: a five-field cron expression, in UTC.")
    active: bool = Field(description="Whether it runs on its schedule (it can always be run by hand).")


class JobsDeclared(BaseModel):
    """A service started and declares its scheduled jobs: the complete list, replacing any earlier one."""

    model_config = ConfigDict(extra="ignore")

    service: str
    jobs: list[DeclaredJob]
    declared_at: datetime


class JobStarted(BaseModel):
    """A run of a scheduled job began."""

    model_config = ConfigDict(extra="ignore")

    job_id: str
    execution_id: str
    worker: str
    trigger: JobTrigger
    started_at: datetime
    worker_status: Literal["running"] = "running"


class JobFinished(BaseModel):
    """A run of a scheduled job ended, well (`success`) or not (`failed`, with the error's type)."""

    model_config = ConfigDict(extra="ignore")

    job_id: str
    execution_id: str
    worker: str
    trigger: JobTrigger
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    status: Literal["success", "failed"]
    worker_status: Literal["completed", "failed"]
    result: str | None = Field(default=None, description="What the run reported, e.g. a count.")
    error: str | None = Field(default=None, description="The failure's type and message, redacted.")
