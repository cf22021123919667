"""Training load as the athlete sees it: each ingested activity scored when it arrives (`load`), and the
daily fitness, fatigue and form computed from those scores for the chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import onboarding, repository
from planning.domain import Thresholds
from planning.load import ActivityFacts, DailyLoad, fitness_series, training_stress
from planning.matching import ActivityToMatch
from planning.models import ActivityLoad
from relay_contracts.events.ingestion import ActivityDeleted, ActivityMerged, ActivityUpserted
from relay_platform.logging import get_logger

log = get_logger(__name__)


async def record_activity(session: AsyncSession, activity: ActivityUpserted) -> ActivityLoad | None:
    """Scores the activity with the athlete's thresholds and keeps the score (a newer revision replaces
    it). Another provider's copy of an activity already counted (`duplicate_of`) is not counted again."""
    if activity.duplicate_of is not None:
        await repository.delete_activity_loads(session, [activity.activity_id])
        return None
    local_date = ActivityToMatch.from_event(activity).local_date
    thresholds = await _thresholds(session, activity.user_id, local_date)
    facts = ActivityFacts.from_event(activity)
    score = training_stress(facts, thresholds)
    load = ActivityLoad(
        activity_id=activity.activity_id,
        user_id=activity.user_id,
        local_date=local_date,
        sport=facts.sport,
        moving_time_s=facts.moving_time_s,
        stress=round(score.value, 1),
        method=score.method,
        revision=activity.revision,
        updated_at=datetime.now(UTC),
    )
    await repository.upsert_activity_load(session, load)
    return load


async def _thresholds(session: AsyncSession, user_id: str, day: date) -> Thresholds:
    """The athlete's thresholds, read once per transaction: a backfill brings hundreds of activities of
    the same athletes in one (the age-estimated max HR only changes with the year)."""
    known: dict[tuple[str, int], Thresholds] = session.info.setdefault("thresholds", {})
    key = (user_id, day.year)
    if key not in known:
        profile = await repository.get_profile(session, user_id)
        answers = await repository.get_onboarding(session, user_id)
        known[key] = onboarding.current_thresholds(profile, answers, day)
    return known[key]


async def forget_activity(session: AsyncSession, deleted: ActivityDeleted) -> None:
    await repository.delete_activity_loads(session, [deleted.activity_id])


async def forget_duplicate(session: AsyncSession, merged: ActivityMerged) -> None:
    """Two providers' copies of one workout were recognized as one: only the kept one counts."""
    if not merged.undone:
        await repository.delete_activity_loads(session, [merged.duplicate_activity_id])


async def chart(session: AsyncSession, user_id: str, first: date, last: date) -> list[DailyLoad]:
    """One point per day from `first` to `last`: the day's stress, and fitness, fatigue and form built
    from every activity since the athlete's first one (so the curve does not start from zero at `first`)."""
    daily = await repository.daily_stress(session, user_id, last)
    start = min([first, *daily])
    return [point for point in fitness_series(daily, start, last) if point.date >= first]


def default_range(today: date) -> tuple[date, date]:
    """The last 90 days, today included."""
    return today - timedelta(days=89), today
