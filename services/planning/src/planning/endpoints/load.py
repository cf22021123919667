"""The training load chart: stress, fitness (CTL), fatigue (ATL) and form (TSB) per day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from planning import onboarding, repository, training_load
from planning.endpoints import Now
from planning.schemas import LoadDay, TrainingLoadResponse
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep
from relay_platform.errors import InvalidInput

router = APIRouter(prefix="/api/training-load", tags=["training load"])

MAX_DAYS = 366


@router.get("", summary="The athlete's training load per day (the last 90 days unless asked otherwise)")
async def get_training_load(
    athlete: CurrentAthlete,
    session: SessionDep,
    now: Now,
    first: Annotated[date | None, Query(alias="from", description="First day (YYYY-MM-DD).")] = None,
    last: Annotated[
        date | None, Query(alias="to", description="Last day, included; today by default.")
    ] = None,
) -> TrainingLoadResponse:
    today = onboarding.local_today(await repository.get_profile(session, athlete.sub), now)
    last = last or today
    first = first or training_load.default_range(last)[0]
    if first > last:
        raise InvalidInput(
            "`from` must not be after `to`", details={"from": first.isoformat(), "to": last.isoformat()}
        )
    if last - first >= timedelta(days=MAX_DAYS):
        raise InvalidInput(f"at most {MAX_DAYS} days at once", details={"days": (last - first).days + 1})
    points = await training_load.chart(session, athlete.sub, first, last)
    return TrainingLoadResponse(
        from_=first,
        to=last,
        days=[
            LoadDay(
                date=point.date,
                stress=round(point.stress, 1),
                fitness=round(point.ctl, 1),
                fatigue=round(point.atl, 1),
                form=round(point.tsb, 1),
            )
            for point in points
        ],
    )
