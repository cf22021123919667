"""Events of the audit service: what operators asked of it and did through it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from relay_contracts.events.common import Actor


class JobRunRequested(BaseModel):
    """An operator asked for a job to run now. The command is for the service that owns the job,
    which runs it once and tells how it went (`<service>.job.started` / `.finished`)."""

    model_config = ConfigDict(extra="ignore")

    execution_id: str
    job_id: str
    service: str
    worker: str
    requested_at: datetime
    actor: Actor


class DeadLetterReplayed(BaseModel):
    """A dead-lettered message was published again to its original topic, after a fix."""

    model_config = ConfigDict(extra="ignore")

    dead_letter_id: str
    consumer: str
    topic: str
    event_type: str | None = None
    event_id: str | None = None
    replayed_at: datetime
    actor: Actor
