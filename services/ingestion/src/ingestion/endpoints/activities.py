"""The athletes' activities, read by the app: seed 001's `/api/strava/activities`, `/api/strava/stats`
and `/api/onboarding/strava-analysis` over their Strava activities, and `/api/activities` over what they
see from every provider. Days, periods and rounding are described in `ingestion.activities`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ingestion import activities
from ingestion.schemas import (
    ActivityList,
    ActivityOut,
    StatsOut,
    StatsPeriod,
    StravaActivityList,
    StravaAnalysisOut,
)
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep

strava = APIRouter(prefix="/api/strava", tags=["strava"])
onboarding = APIRouter(prefix="/api/onboarding", tags=["onboarding"])
every_provider = APIRouter(prefix="/api/activities", tags=["activities"])

SportParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="One of Relay's sports (`run`, `bike`, `swim`, `walk`, `hike`, `row`, `ski`, `strength`, "
        "`cardio`, `yoga`, `other`), or else a provider's own type, matched exactly (Strava's `TrailRun`).",
    ),
]
SinceParam = Annotated[
    str | None,
    Query(
        max_length=40,
        description="First day (`YYYY-MM-DD`, on the athlete's calendar) or instant (ISO 8601), included.",
    ),
]
UntilParam = Annotated[
    str | None,
    Query(max_length=40, description="Last day (the whole day) or instant, included."),
]
MatchedParam = Annotated[
    bool | None, Query(description="Only the activities matched to a planned session (true) or not (false).")
]
LimitParam = Annotated[int, Query(ge=1, le=200)]
OffsetParam = Annotated[int, Query(ge=0, le=1_000_000)]
PeriodParam = Annotated[
    StatsPeriod,
    Query(description="The current ISO week, calendar month or calendar year, or `all`."),
]
ProviderParam = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z_]{1,32}$",
        description="Activities this provider recorded, shown from it or merged into the one shown.",
    ),
]


def _today() -> date:
    return datetime.now(UTC).date()


@strava.get("/activities", summary="The athlete's Strava activities")
async def list_strava_activities(
    athlete: CurrentAthlete,
    session: SessionDep,
    sport: SportParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    matched: MatchedParam = None,
    limit: LimitParam = 50,
    offset: OffsetParam = 0,
) -> StravaActivityList:
    """Every Strava activity of the athlete's, newest first, including those shown from another
    provider in `/api/activities`."""
    filters = activities.activity_filters(sport=sport, since=since, until=until, matched=matched)
    return await activities.list_strava_activities(session, athlete.sub, filters, limit=limit, offset=offset)


@strava.get("/stats", summary="Stats of the athlete's Strava activities")
async def strava_stats(
    athlete: CurrentAthlete, session: SessionDep, period: PeriodParam = "month"
) -> StatsOut:
    """Totals and per-sport totals of the calendar period so far, and the difference with the same
    number of days of the previous period (none for `all`)."""
    return await activities.strava_stats(session, athlete.sub, period, _today())


@onboarding.get("/strava-analysis", summary="Analysis of the athlete's last six months on Strava")
async def strava_analysis(athlete: CurrentAthlete, session: SessionDep) -> StravaAnalysisOut:
    """Volumes and paces by sport, weekly averages, heart-rate zones from the highest heart rate
    recorded, and an estimated level: `elite` from 15 h of swim, bike and run a week with at least two
    sessions in 85 % of the weeks, `advanced` from 10 h and 75 %, `intermediate` from 5 h and 50 %,
    otherwise `beginner`."""
    return await activities.strava_analysis(session, athlete.sub, _today())


@every_provider.get("", summary="The activities the athlete sees, from every provider")
async def list_activities(
    athlete: CurrentAthlete,
    session: SessionDep,
    provider: ProviderParam = None,
    sport: SportParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    matched: MatchedParam = None,
    limit: LimitParam = 50,
    offset: OffsetParam = 0,
) -> ActivityList:
    """One activity per workout, newest first: a workout several providers recorded is shown once,
    with the others in `also_from`."""
    filters = activities.activity_filters(
        sport=sport, since=since, until=until, matched=matched, recorded_by=provider
    )
    return await activities.list_activities(session, athlete.sub, filters, limit=limit, offset=offset)


@every_provider.get("/stats", summary="Stats of the activities the athlete sees")
async def activity_stats(
    athlete: CurrentAthlete, session: SessionDep, period: PeriodParam = "month"
) -> StatsOut:
    """`/api/strava/stats` over every provider, each workout counted once."""
    return await activities.activity_stats(session, athlete.sub, period, _today())


@every_provider.get("/{activity_id}", summary="One of the athlete's activities")
async def get_activity(
    athlete: CurrentAthlete, session: SessionDep, activity_id: Annotated[uuid.UUID, Path()]
) -> ActivityOut:
    """404 for an activity of another athlete's, and for a copy merged into another (`merged_into`)."""
    return await activities.get_activity(session, athlete.sub, activity_id)


router = APIRouter()
router.include_router(strava)
router.include_router(onboarding)
router.include_router(every_provider)
