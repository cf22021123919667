"""The athlete's manual Strava sync (seed 001: `POST /api/strava/sync`)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ingestion import repository, syncs
from ingestion.models import SyncRun
from ingestion.resources import Ingestion, ingestion_from
from ingestion.worker import SYNC_LEASE
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep
from relay_platform.errors import Conflict, NotFound, error_response

router = APIRouter(tags=["activities"])

DEFAULT_SYNC_DAYS = 30
WAIT_SECONDS = 20.0
"""How long the request reads pages itself before leaving the rest to the worker (answer 202)."""

IngestionDep = Annotated[Ingestion, Depends(ingestion_from)]


class SyncRequest(BaseModel):
    since: date | datetime | None = Field(
        default=None, description="Read activities that started from this day (default: the last 30 days)."
    )


class SyncCounts(BaseModel):
    activities_fetched: int
    activities_new: int
    activities_updated: int
    sessions_matched: int = Field(description="Synced activities already matched to a planned session.")


class SyncAnswer(BaseModel):
    success: bool
    sync: SyncCounts
    sync_id: uuid.UUID
    status: str = Field(description="`success`, or `running` when the rest continues in the background.")


@router.post(
    "/api/strava/sync",
    response_model=SyncAnswer,
    summary="Synchronise the athlete's Strava activities now",
    responses={
        202: {"model": SyncAnswer, "description": "Still running: the rest continues in the background."},
        404: {"description": "The athlete has no active Strava connection."},
        409: {"description": "A sync of this connection is already under way."},
        502: {"description": "Strava could not be read (`strava_error`)."},
    },
)
async def sync_strava(
    body: SyncRequest, athlete: CurrentAthlete, session: SessionDep, ingestion: IngestionDep
) -> SyncAnswer | JSONResponse:
    """Reads the athlete's Strava activities since `since` and answers with the seed's counts once they
    are stored. A long history is not waited for: after 20 seconds the answer is 202 with the counts so
    far, the worker finishes it, and the connection's sync status shows its progress."""
    links = await repository.links_of_athlete(session, athlete.sub, "strava")
    link = next((link for link in links if link.status == "active" and link.is_active), None)
    if link is None:
        raise NotFound(
            "No active Strava connection", code="connection_not_found", details={"provider": "strava"}
        )
    pending = await repository.open_sync_run(session, link.connection_id)
    if pending is not None:
        raise Conflict(
            "A synchronisation of Strava is already under way",
            code="sync_in_progress",
            details={"sync_id": str(pending.id)},
        )
    now = datetime.now(UTC)
    since = _start_of(body.since) if body.since else now - timedelta(days=DEFAULT_SYNC_DAYS)
    run = syncs.new_run(
        uuid.uuid4(),
        link.connection_id,
        athlete.sub,
        "strava",
        link.provider_user_id,
        trigger="manual",
        since=since,
        until=now,
    )
    run.next_attempt_at = now + SYNC_LEASE  # read by this request; the worker takes over if it stops
    await repository.add_sync_run(session, run)
    # Starting updates the stored row: `run` is not in the session, and adding it would insert it again.
    stored = await repository.get_sync_run(session, run.id)
    assert stored is not None  # inserted just above, in this transaction
    await syncs.start(session, stored, topic_prefix=ingestion.settings.kafka_topic_prefix)
    await session.commit()
    ingestion.worker.count_sync(stored, "started")

    deadline = time.monotonic() + WAIT_SECONDS
    current: SyncRun | None = stored
    while current is not None and current.status == "running" and time.monotonic() < deadline:
        await ingestion.worker.read_pages(current, link)
        session.expire_all()
        current = await repository.get_sync_run(session, run.id)
        if (
            current is not None
            and current.status == "running"
            and current.next_attempt_at > datetime.now(UTC)
        ):
            break  # waiting for a rate-limit window or a retry: the worker will carry on
    if current is None:
        raise NotFound("The synchronisation was removed with its connection", code="connection_not_found")
    if current.status == "failed":
        # The sync's failure is committed; the answer says so (the request itself changed nothing more).
        return error_response(502, "strava_error", "Strava could not be read", {"reason": current.error})
    matched = await repository.count_matched_activities(session, athlete.sub, "strava", since)
    answer = SyncAnswer(
        success=True,
        sync=SyncCounts(
            activities_fetched=current.activities_fetched,
            activities_new=current.activities_created,
            activities_updated=current.activities_updated,
            sessions_matched=matched,
        ),
        sync_id=current.id,
        status=current.status,
    )
    if current.status == "success":
        return answer
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


def _start_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, clock_time.min, tzinfo=UTC)
