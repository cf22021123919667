"""Training load from ingested activities to the athlete's chart, against the real database: each activity
scored once with the athlete's thresholds, copies and deleted activities not counted, and fitness,
fatigue and form per day for the athlete alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from planning import service
from planning.models import ActivityLoad
from relay_contracts import Envelope
from relay_contracts.catalog import (
    INGESTION_ACTIVITY_DELETED,
    INGESTION_ACTIVITY_MERGED,
    INGESTION_ACTIVITY_UPSERTED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated
from relay_contracts.events.ingestion import ActivityDeleted, ActivityMerged, ActivityUpserted

from .conftest import PlanningApi

pytestmark = pytest.mark.integration

Deliver = Callable[[Envelope], Awaitable[None]]
DAY = datetime.now(UTC).date() - timedelta(days=3)
NOW = datetime.now(UTC)


@pytest.fixture
def chart(planning_api: PlanningApi) -> Callable[..., Awaitable[httpx.Response]]:
    async def get(user_id: str, **params: str) -> httpx.Response:
        headers = planning_api.identity.bearer(user_id)
        return await planning_api.client.get("/api/training-load", params=params, headers=headers)

    return get


async def athlete(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> None:
    profile = ProfileUpdated(
        user_id=user_id,
        ftp_watts=250,
        max_heart_rate=190,
        threshold_pace_seconds_per_km=240,
        timezone="Europe/Paris",
        updated_at=NOW,
        actor=Actor(type="athlete", id=user_id),
    )
    async with sessionmaker() as session, session.begin():
        await service.record_profile(session, profile)


def recorded(activity_id: str, sport: str, on: date, **facts: object) -> Envelope:
    activity = ActivityUpserted(
        activity_id=activity_id,
        user_id="ath-1",
        provider="strava",
        external_id=activity_id,
        created=True,
        revision=1,
        sport=sport,
        sport_type=sport,
        start_time=datetime.combine(on, time(7), tzinfo=UTC),
        utc_offset_seconds=3600,
        moving_time_s=3600,
        elapsed_time_s=3700,
    )
    return INGESTION_ACTIVITY_UPSERTED.envelope(activity.model_copy(update=facts), subject=activity.user_id)


async def loads(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, tuple[float, str]]:
    async with sessionmaker() as session:
        rows = (await session.exec(select(ActivityLoad))).all()
    return {row.activity_id: (row.stress, row.method) for row in rows}


async def test_each_activity_is_scored_once_with_the_best_data_it_has(
    deliver: Deliver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await athlete(sessionmaker, "ath-1")
    ride = recorded(
        "act_ride", "bike", DAY, normalized_power_w=250, average_power_w=235, average_heartrate=150
    )
    await deliver(ride)
    await deliver(ride)  # redelivered
    await deliver(recorded("act_run", "run", DAY, distance_m=15_000))  # 4:00/km for an hour: threshold
    await deliver(recorded("act_walk", "walk", DAY, average_heartrate=105))
    await deliver(recorded("act_copy", "bike", DAY, normalized_power_w=250, duplicate_of="act_ride"))

    scored = await loads(sessionmaker)
    assert scored["act_ride"] == (100.0, "power")  # an hour at FTP
    assert scored["act_run"] == (100.0, "pace")
    assert scored["act_walk"][1] == "heart_rate" and scored["act_walk"][0] < 30
    assert "act_copy" not in scored

    await deliver(
        INGESTION_ACTIVITY_DELETED.envelope(
            ActivityDeleted(
                activity_id="act_walk",
                user_id="ath-1",
                provider="strava",
                external_id="act_walk",
                reason="deleted_at_provider",
                deleted_at=NOW,
            ),
            subject="ath-1",
        )
    )
    await deliver(
        INGESTION_ACTIVITY_MERGED.envelope(
            ActivityMerged(
                merge_id="mrg_1",
                user_id="ath-1",
                kept_activity_id="act_ride",
                kept_provider="strava",
                duplicate_activity_id="act_run",
                duplicate_provider="garmin",
                at=NOW,
            ),
            subject="ath-1",
        )
    )
    assert set(await loads(sessionmaker)) == {"act_ride"}


async def test_the_chart_shows_fitness_fatigue_and_form_per_day_for_the_athlete_alone(
    deliver: Deliver,
    sessionmaker: async_sessionmaker[AsyncSession],
    chart: Callable[..., Awaitable[httpx.Response]],
) -> None:
    await athlete(sessionmaker, "ath-1")
    await deliver(recorded("act_ride", "bike", DAY, normalized_power_w=250))
    await deliver(recorded("act_run", "run", DAY, distance_m=15_000))
    first, last = DAY - timedelta(days=1), DAY + timedelta(days=1)

    answer = await chart("ath-1", **{"from": first.isoformat(), "to": last.isoformat()})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"]) == (first.isoformat(), last.isoformat())
    days = {day["date"]: day for day in body["days"]}
    assert list(days) == [(first + timedelta(days=n)).isoformat() for n in range(3)]
    before, race, after = days.values()
    assert (before["stress"], before["fitness"], before["fatigue"]) == (0, 0, 0)
    assert race["stress"] == 200.0
    assert race["fitness"] == round(200 / 42, 1)
    assert race["fatigue"] == round(200 / 7, 1)
    assert race["form"] == 0  # the day starts fresh: the session's fatigue shows the next morning
    assert after["form"] == round(200 / 42 - 200 / 7, 1)

    default = (await chart("ath-1")).json()
    assert len(default["days"]) == 90
    assert any(day["stress"] == 200.0 for day in default["days"])
    assert all(day["stress"] == 0 for day in (await chart("ath-2")).json()["days"])


async def test_a_range_the_chart_cannot_show_is_refused_in_the_envelope(
    chart: Callable[..., Awaitable[httpx.Response]],
) -> None:
    backwards = await chart("ath-1", **{"from": "2026-05-02", "to": "2026-05-01"})
    too_long = await chart("ath-1", **{"from": "2024-01-01", "to": "2026-01-01"})
    not_a_date = await chart("ath-1", **{"from": "yesterday"})

    for answer in (backwards, too_long, not_a_date):
        assert answer.status_code in (400, 422)
        assert set(answer.json()["error"]) == {"code", "message", "details"}
