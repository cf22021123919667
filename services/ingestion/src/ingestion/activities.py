"""The athletes' activities as the app reads them: lists, stats over calendar periods, and the six-month
analysis of the Strava history that onboarding starts from (seed 001).

Days. The athlete's time zone is not known here, so an activity is placed on a day by its own UTC
offset, as the provider recorded it: a run at 00:30 in Paris is on that Paris day, whatever UTC says. An
activity without an offset is placed on its UTC day. "Today" is today in UTC.

Periods. `week` is the current ISO week (Monday to Sunday), `month` the current calendar month, `year`
the current calendar year, `all` everything. The trend compares the period so far with the same number
of days at the start of the previous period (this Monday to Wednesday against last Monday to Wednesday;
1 to 10 March against 1 to 10 February), so that a period just begun is not compared with a whole one.

Durations are moving time (elapsed time when a provider gives only that); hours and kilometres are
rounded half up to one decimal."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import get_args

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository
from ingestion.providers.base import Sport
from ingestion.repository import ActivityFacts, ActivityFilters
from ingestion.schemas import (
    ActivityList,
    ActivityOut,
    AnalysisBySport,
    AnalysisTotals,
    BikeAnalysis,
    DateSpan,
    DetectedZones,
    HeartRateZone,
    Level,
    LevelBasis,
    Pagination,
    PeriodStats,
    RunAnalysis,
    SportTotals,
    StatsOut,
    StatsPeriod,
    StatsTotals,
    StravaActivityList,
    StravaActivityOut,
    StravaAnalysis,
    StravaAnalysisOut,
    SwimAnalysis,
    SwimTotals,
    Trend,
    Trends,
    WeeklyAverage,
)
from relay_platform.errors import InvalidInput, NotFound

RELAY_SPORTS: tuple[str, ...] = get_args(Sport)
TRIATHLON_SPORTS = ("swim", "bike", "run")
ANALYSIS_MONTHS = 6

LEVEL_THRESHOLDS: tuple[tuple[Level, float, float], ...] = (
    # (level, weekly swim/bike/run hours, share of weeks with at least two sessions), best first.
    # Age-group triathletes: 3-5 h a week prepares a sprint; 6-10 h an Olympic or a 70.3; 10-15 h a
    # 70.3 or an Ironman with ambition; 15 h and more, week after week, is how the best of them train.
    ("elite", 15.0, 0.85),
    ("advanced", 10.0, 0.75),
    ("intermediate", 5.0, 0.5),
)
ACTIVE_WEEK_SESSIONS = 2

HEART_RATE_ZONES: tuple[tuple[str, float], ...] = (
    # (name, lower bound in % of maximum heart rate): the five-zone model of Garmin, Polar and most
    # coaches when only the maximum is known.
    ("recovery", 0.50),
    ("endurance", 0.60),
    ("tempo", 0.70),
    ("threshold", 0.80),
    ("vo2max", 0.90),
)
PLAUSIBLE_MAX_HEARTRATE = (140, 220)
"""Below 140 bpm the athlete never went hard enough for a maximum to mean anything; above 220 it is a
sensor artifact (an optical sensor locked on cadence, a strap's static) far more often than a heart."""


def round_half_up(value: float, digits: int = 1) -> float:
    """`value` rounded as people round (10.25 → 10.3), not to the nearest even digit."""
    rounded = float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    return rounded + 0.0  # a difference of equal values is 0.0, never -0.0


def whole(value: float) -> int:
    return math.floor(value + 0.5)


def local_start(start_time: datetime, utc_offset_seconds: int | None) -> datetime:
    """The start on the athlete's wall clock (naive), by the activity's own offset, UTC without one."""
    return (start_time.astimezone(UTC) + timedelta(seconds=utc_offset_seconds or 0)).replace(tzinfo=None)


def local_day(activity: ActivityFacts) -> date:
    return local_start(activity.start_time, activity.utc_offset_seconds).date()


def duration_s(activity: ActivityFacts) -> float:
    if activity.moving_time_s is not None:
        return float(activity.moving_time_s)
    return float(activity.elapsed_time_s or 0)


# -- Query parameters ---------------------------------------------------------------------------------


def parse_bound(value: str | None, field: str) -> date | datetime | None:
    """`since` / `until`: a day (`2025-03-01`, of the athlete's calendar) or an instant (ISO 8601; UTC
    when it has no offset). Both ends are included: `until=2025-03-12` includes the whole 12th."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 date-time",
            details={"field": field, "reason": "invalid_date", "value": value},
        ) from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _as_instant(bound: date | datetime, *, end: bool) -> datetime:
    if isinstance(bound, datetime):
        return bound
    day = bound + timedelta(days=1) if end else bound
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def activity_filters(
    *,
    sport: str | None = None,
    since: str | None = None,
    until: str | None = None,
    matched: bool | None = None,
    provider: str | None = None,
    recorded_by: str | None = None,
    visible_only: bool = True,
) -> ActivityFilters:
    """The filters of a list. `sport` is one of Relay's sports (`run` takes in trail runs, treadmill
    runs and virtual runs) or, otherwise, a provider's own type, matched exactly (Strava's `TrailRun`)."""
    first, last = parse_bound(since, "since"), parse_bound(until, "until")
    if first is not None and last is not None and _as_instant(first, end=False) > _as_instant(last, end=True):
        raise InvalidInput(
            "since must come before until", details={"field": "since", "reason": "since_after_until"}
        )
    return ActivityFilters(
        provider=provider,
        recorded_by=recorded_by,
        visible_only=visible_only,
        sport=sport if sport in RELAY_SPORTS else None,
        sport_type=sport if sport is not None and sport not in RELAY_SPORTS else None,
        since=first,
        until=last,
        matched=matched,
    )


# -- Periods ------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def period_days(period: StatsPeriod, today: date) -> DateSpan | None:
    """The calendar period containing `today`, whole (no activity lies in its future); None for `all`."""
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        return DateSpan(start=monday, end=monday + timedelta(days=6))
    if period == "month":
        first = today.replace(day=1)
        return DateSpan(start=first, end=add_months(first, 1) - timedelta(days=1))
    if period == "year":
        return DateSpan(start=date(today.year, 1, 1), end=date(today.year, 12, 31))
    return None


def previous_days(period: StatsPeriod, today: date) -> DateSpan | None:
    """The days the period so far is compared with: as many days as have begun in the current period
    (today included), from the start of the previous period, and never beyond its end."""
    current = period_days(period, today)
    if current is None:
        return None
    if period == "week":
        start = current.start - timedelta(days=7)
    elif period == "month":
        start = add_months(current.start, -1)
    else:
        start = date(current.start.year - 1, 1, 1)
    elapsed = (today - current.start).days
    return DateSpan(start=start, end=min(start + timedelta(days=elapsed), current.start - timedelta(days=1)))


def _within(activities: Iterable[ActivityFacts], days: DateSpan) -> list[ActivityFacts]:
    return [a for a in activities if days.start <= local_day(a) <= days.end]


# -- Stats --------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    count: int = 0
    seconds: float = 0.0
    metres: float = 0.0

    def add(self, activity: ActivityFacts) -> None:
        self.count += 1
        self.seconds += duration_s(activity)
        self.metres += activity.distance_m or 0.0

    @property
    def hours(self) -> float:
        return round_half_up(self.seconds / 3600)

    @property
    def kilometres(self) -> float:
        return round_half_up(self.metres / 1000)


def _tally(activities: Iterable[ActivityFacts]) -> tuple[_Tally, dict[str, _Tally]]:
    total, by_sport = _Tally(), {sport: _Tally() for sport in TRIATHLON_SPORTS}
    for activity in activities:
        total.add(activity)
        by_sport.setdefault(activity.sport, _Tally()).add(activity)
    return total, by_sport


def _sport_order(sport: str) -> int:
    return RELAY_SPORTS.index(sport) if sport in RELAY_SPORTS else len(RELAY_SPORTS)


def summarize(activities: Iterable[ActivityFacts], trend: Trend | None) -> PeriodStats:
    """Totals and per-sport totals: swim in metres, the other sports in kilometres; swim, bike and run
    are always there, other sports when the athlete did some."""
    total, by_sport = _tally(activities)
    ordered = sorted(
        by_sport.items(), key=lambda item: (item[0] not in TRIATHLON_SPORTS, _sport_order(item[0]))
    )
    return PeriodStats(
        totals=StatsTotals(activities=total.count, hours=total.hours, distance_km=total.kilometres),
        by_sport={
            sport: SwimTotals(count=t.count, distance_m=whole(t.metres), hours=t.hours)
            if sport == "swim"
            else SportTotals(count=t.count, distance_km=t.kilometres, hours=t.hours)
            for sport, t in ordered
        },
        trends=Trends(vs_previous_period=trend),
    )


def period_stats(activities: Iterable[ActivityFacts], period: StatsPeriod, today: date) -> StatsOut:
    """The stats of the calendar period containing `today`, with the trend against the previous one."""
    current = period_days(period, today)
    previous = previous_days(period, today)
    if current is None or previous is None:
        return StatsOut(period=period, dates=None, stats=summarize(activities, None))
    activities = list(activities)
    in_period = _within(activities, current)
    now, before = _tally(in_period)[0], _tally(_within(activities, previous))[0]
    trend = Trend(hours=round_half_up(now.hours - before.hours), activities=now.count - before.count)
    return StatsOut(period=period, dates=current, stats=summarize(in_period, trend))


def stats_window(period: StatsPeriod, today: date) -> tuple[date | None, date | None]:
    """The days whose activities `period_stats` reads: the previous period's start to the current end."""
    current, previous = period_days(period, today), previous_days(period, today)
    if current is None or previous is None:
        return None, None
    return previous.start, current.end


# -- The onboarding's analysis ------------------------------------------------------------------------


def analysis_period(today: date) -> DateSpan:
    """The six months up to today: 1 July to 1 January on New Year's Day."""
    return DateSpan(start=add_months(today, -ANALYSIS_MONTHS), end=today)


def observed_max_heartrate(activities: Iterable[ActivityFacts]) -> int | None:
    """The highest maximum heart rate recorded that a heart could produce (`PLAUSIBLE_MAX_HEARTRATE`)."""
    low, high = PLAUSIBLE_MAX_HEARTRATE
    plausible = [
        a.max_heartrate for a in activities if a.max_heartrate is not None and a.max_heartrate <= high
    ]
    best = max(plausible, default=None)
    return whole(best) if best is not None and best >= low else None


def heart_rate_zones(max_heartrate: int) -> list[HeartRateZone]:
    """Five zones in % of the maximum (50-60-70-80-90-100), each ending one beat below the next."""
    lows = [whole(max_heartrate * share) for _, share in HEART_RATE_ZONES]
    highs = [low - 1 for low in lows[1:]] + [max_heartrate]
    return [
        HeartRateZone(zone=index, name=name, min_bpm=low, max_bpm=high)
        for index, ((name, _), low, high) in enumerate(
            zip(HEART_RATE_ZONES, lows, highs, strict=True), start=1
        )
    ]


def estimate_level(weekly_hours: float, consistency: float) -> Level:
    """The best level (`LEVEL_THRESHOLDS`) whose weekly hours and consistency the athlete reaches both."""
    for level, hours, share in LEVEL_THRESHOLDS:
        if weekly_hours >= hours and consistency >= share:
            return level
    return "beginner"


def level_basis(activities: Iterable[ActivityFacts], period: DateSpan) -> LevelBasis:
    """Weekly swim, bike and run hours over the period, and how many of its whole weeks (counted back
    from its last day) had at least two such sessions."""
    triathlon = [a for a in activities if a.sport in TRIATHLON_SPORTS]
    days = (period.end - period.start).days + 1
    weeks = days // 7
    sessions_by_week: dict[int, int] = {}
    for activity in triathlon:
        week = (period.end - local_day(activity)).days // 7
        sessions_by_week[week] = sessions_by_week.get(week, 0) + 1
    active = sum(
        1 for week, sessions in sessions_by_week.items() if week < weeks and sessions >= ACTIVE_WEEK_SESSIONS
    )
    seconds = sum(duration_s(a) for a in triathlon)
    return LevelBasis(
        weekly_hours=round_half_up(seconds / 3600 / (days / 7)), active_weeks=active, weeks=weeks
    )


def _timed(activities: list[ActivityFacts]) -> tuple[float, float]:
    """Seconds and metres of the activities that have both: what an average pace or speed is read from."""
    timed = [a for a in activities if (a.distance_m or 0) > 0 and duration_s(a) > 0]
    return sum(duration_s(a) for a in timed), sum(a.distance_m or 0.0 for a in timed)


def _swim(swims: list[ActivityFacts]) -> SwimAnalysis:
    seconds, metres = _timed(swims)
    return SwimAnalysis(
        count=len(swims),
        distance_m=whole(sum(a.distance_m or 0.0 for a in swims)),
        duration_min=whole(sum(duration_s(a) for a in swims) / 60),
        avg_pace_100m=whole(seconds / (metres / 100)) if metres else None,
    )


def _bike(rides: list[ActivityFacts]) -> BikeAnalysis:
    seconds, metres = _timed(rides)
    powered = [a for a in rides if a.average_power_w is not None and duration_s(a) > 0]
    powered_seconds = sum(duration_s(a) for a in powered)
    return BikeAnalysis(
        count=len(rides),
        distance_km=round_half_up(sum(a.distance_m or 0.0 for a in rides) / 1000),
        duration_min=whole(sum(duration_s(a) for a in rides) / 60),
        avg_speed_kmh=round_half_up(metres / 1000 / (seconds / 3600)) if seconds else None,
        avg_power_w=whole(sum((a.average_power_w or 0.0) * duration_s(a) for a in powered) / powered_seconds)
        if powered_seconds
        else None,
    )


def _run(runs: list[ActivityFacts]) -> RunAnalysis:
    seconds, metres = _timed(runs)
    return RunAnalysis(
        count=len(runs),
        distance_km=round_half_up(sum(a.distance_m or 0.0 for a in runs) / 1000),
        duration_min=whole(sum(duration_s(a) for a in runs) / 60),
        avg_pace_min_km=round_half_up(seconds / 60 / (metres / 1000), 2) if metres else None,
    )


def analyse_history(activities: Iterable[ActivityFacts], today: date) -> StravaAnalysis:
    """Seed 001's analysis of the six months up to `today`: volumes, paces, weekly averages, heart-rate
    zones from the highest heart rate recorded, and a level from weekly hours and consistency. An
    athlete with no activity is a beginner without zones."""
    period = analysis_period(today)
    history = _within(activities, period)
    total, _ = _tally(history)
    weeks = ((period.end - period.start).days + 1) / 7
    max_heartrate = observed_max_heartrate(history)
    basis = level_basis(history, period)
    return StravaAnalysis(
        period=period,
        totals=AnalysisTotals(activities=total.count, hours=total.hours),
        by_sport=AnalysisBySport(
            swim=_swim([a for a in history if a.sport == "swim"]),
            bike=_bike([a for a in history if a.sport == "bike"]),
            run=_run([a for a in history if a.sport == "run"]),
        ),
        weekly_avg=WeeklyAverage(
            hours=round_half_up(total.seconds / 3600 / weeks), sessions=round_half_up(total.count / weeks)
        ),
        zones_detected=DetectedZones(
            hr_zones=heart_rate_zones(max_heartrate) if max_heartrate is not None else [],
            max_heartrate=max_heartrate,
        ),
        estimated_level=estimate_level(
            basis.weekly_hours, basis.active_weeks / basis.weeks if basis.weeks else 0
        ),
        level_basis=basis,
    )


# -- Use cases ----------------------------------------------------------------------------------------


def _page(total: int, limit: int, offset: int, shown: int) -> Pagination:
    return Pagination(total=total, limit=limit, offset=offset, has_more=offset + shown < total)


async def list_strava_activities(
    session: AsyncSession, user_id: str, filters: ActivityFilters, *, limit: int, offset: int
) -> StravaActivityList:
    """The athlete's Strava activities, newest first, merged into another provider's or not."""
    strava = replace(filters, provider="strava", recorded_by=None, visible_only=False)
    rows, total = await repository.athlete_activities_page(
        session, user_id, strava, limit=limit, offset=offset
    )
    return StravaActivityList(
        activities=[StravaActivityOut.of(row) for row in rows],
        pagination=_page(total, limit, offset, len(rows)),
    )


async def strava_stats(session: AsyncSession, user_id: str, period: StatsPeriod, today: date) -> StatsOut:
    """Stats of the athlete's Strava activities over a calendar period."""
    since, until = stats_window(period, today)
    filters = ActivityFilters(provider="strava", visible_only=False, since=since, until=until)
    return period_stats(await repository.activity_facts(session, user_id, filters), period, today)


async def strava_analysis(session: AsyncSession, user_id: str, today: date) -> StravaAnalysisOut:
    """The onboarding's analysis of the athlete's last six months on Strava."""
    period = analysis_period(today)
    filters = ActivityFilters(provider="strava", visible_only=False, since=period.start, until=period.end)
    return StravaAnalysisOut(
        analysis=analyse_history(await repository.activity_facts(session, user_id, filters), today)
    )


async def list_activities(
    session: AsyncSession, user_id: str, filters: ActivityFilters, *, limit: int, offset: int
) -> ActivityList:
    """The activities the athlete sees, from every provider, newest first."""
    rows, total = await repository.athlete_activities_page(
        session, user_id, filters, limit=limit, offset=offset
    )
    also_from = await repository.merged_providers(session, [row.id for row in rows])
    return ActivityList(
        activities=[ActivityOut.of(row, also_from.get(row.id, [])) for row in rows],
        pagination=_page(total, limit, offset, len(rows)),
    )


async def get_activity(session: AsyncSession, user_id: str, activity_id: uuid.UUID) -> ActivityOut:
    """One activity the athlete sees; 404 for another athlete's, and for a copy merged into another
    activity (whose id the error gives)."""
    activity = await repository.get_athlete_activity(session, user_id, activity_id)
    if activity is None:
        raise NotFound("No such activity", details={"activity_id": str(activity_id)})
    if activity.duplicate_of is not None:
        raise NotFound(
            "This activity was merged into another one",
            details={"activity_id": str(activity_id), "merged_into": str(activity.duplicate_of)},
        )
    also_from = await repository.merged_providers(session, [activity.id])
    return ActivityOut.of(activity, also_from.get(activity.id, []))


async def activity_stats(session: AsyncSession, user_id: str, period: StatsPeriod, today: date) -> StatsOut:
    """Stats of the activities the athlete sees, from every provider, over a calendar period."""
    since, until = stats_window(period, today)
    filters = ActivityFilters(since=since, until=until)
    return period_stats(await repository.activity_facts(session, user_id, filters), period, today)
