"""Planning's `planning.session.completed` tells the activity which planned session it completed: the
Strava list's `matched_session_id` and `matched` filter show it, for the athlete's own activities only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.models import Activity
from relay_contracts import Envelope
from relay_contracts.catalog import PLANNING_SESSION_COMPLETED
from relay_contracts.events.common import Actor
from relay_contracts.events.planning import SessionCompleted

from .test_activities_api import strava

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]


def completed(session_id: str, user_id: str, activity_id: str | None) -> Envelope:
    event = SessionCompleted(
        session_id=session_id,
        program_id="prog_1",
        user_id=user_id,
        scheduled_date=date(2025, 6, 3),
        completed_at=datetime(2025, 6, 3, 18, tzinfo=UTC),
        activity_id=activity_id,
        actor=Actor(type="system"),
    )
    return PLANNING_SESSION_COMPLETED.envelope(event, subject=user_id)


async def test_the_activity_shows_the_session_it_completed_and_no_one_elses(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    run = strava(
        "alice",
        1294004,
        "Run",
        datetime(2025, 6, 3, 16, tzinfo=UTC),
        name="Footing",
        distance=8000,
        moving_time=2700,
    )
    async with sessionmaker() as session, session.begin():
        session.add(run)
    activity_id = str(run.id)

    await deliver(completed("sess_mallory", "mallory", activity_id))  # not her activity
    await deliver(completed("sess_manual", "alice", None))  # marked done by hand
    await deliver(completed("sess_gone", "alice", str(uuid.uuid4())))  # an activity no longer here
    async with sessionmaker() as session:
        assert (await session.get(Activity, run.id)).matched_session_id is None  # type: ignore[union-attr]

    await deliver(completed("sess_007", "alice", activity_id))
    async with sessionmaker() as session:
        assert (await session.get(Activity, run.id)).matched_session_id == "sess_007"  # type: ignore[union-attr]
