"""Request and response bodies of the ingestion service's HTTP API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestion.models import Activity

UnixTime = Annotated[int, Field(ge=0, le=253_402_300_799)]
"""Seconds since 1970 up to the end of year 9999, the last moment a `datetime` holds."""


class StravaWebhookEvent(BaseModel):
    """What Strava POSTs to the webhook callback: ids only, the data must be fetched."""

    model_config = ConfigDict(extra="allow")

    object_type: Literal["activity", "athlete"]
    object_id: int = Field(ge=0)
    aspect_type: Literal["create", "update", "delete"]
    updates: dict[str, str | bool | int | float] = Field(default_factory=dict)
    owner_id: int = Field(ge=0)
    subscription_id: int = Field(ge=0)
    event_time: UnixTime = Field(description="Unix time of the change at Strava.")


class WebhookAccepted(BaseModel):
    received: bool = True


class BridgeUploadAccepted(BaseModel):
    received: bool = True
    upload_id: uuid.UUID = Field(description="Relay's id of the stored upload; the same for a redelivery.")


class SubscriptionChallenge(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    hub_challenge: str = Field(alias="hub.challenge", serialization_alias="hub.challenge")


# -- The athletes' activities (seed 001: `/api/strava/...`, `/api/onboarding/strava-analysis`) ---------

StatsPeriod = Literal["week", "month", "year", "all"]
Level = Literal["beginner", "intermediate", "advanced", "elite"]


class Pagination(BaseModel):
    total: int = Field(description="How many activities the filters select in all.")
    limit: int
    offset: int
    has_more: bool = Field(description="Whether activities follow this page.")


class StravaActivityOut(BaseModel):
    """One Strava activity as seed 001 lists it (metres and seconds, as Strava gives them)."""

    id: str = Field(description="Relay's id of the activity.")
    strava_id: str
    sport: str = Field(description="Relay's sport (`run`, `bike`, `swim`, ...).")
    sport_type: str = Field(description="Strava's own type (`Run`, `TrailRun`, `VirtualRide`, ...).")
    name: str | None
    start_date: datetime = Field(description="Start, UTC.")
    distance: float | None = Field(description="Metres.")
    moving_time: int | None = Field(description="Seconds.")
    average_heartrate: float | None
    matched_session_id: str | None = Field(description="The planned session this activity completed.")

    @classmethod
    def of(cls, activity: Activity) -> StravaActivityOut:
        return cls(
            id=str(activity.id),
            strava_id=activity.external_id,
            sport=activity.sport,
            sport_type=activity.sport_type,
            name=activity.name,
            start_date=activity.start_time,
            distance=activity.distance_m,
            moving_time=activity.moving_time_s,
            average_heartrate=activity.average_heartrate,
            matched_session_id=activity.matched_session_id,
        )


class StravaActivityList(BaseModel):
    activities: list[StravaActivityOut]
    pagination: Pagination


class ActivityOut(BaseModel):
    """One activity the athlete sees, in Relay's model (SI units: metres, seconds, m/s, watts, bpm,
    kilocalories), with the provider it is shown from and those whose copies were merged into it."""

    id: str
    provider: str
    external_id: str = Field(description="The activity's id at `provider`.")
    also_from: list[str] = Field(description="Providers whose copies of this workout were merged into it.")
    sport: str
    sub_sport: str | None
    sport_type: str = Field(description="The provider's own type.")
    name: str | None
    start_time: datetime = Field(description="Start, UTC.")
    start_local: datetime | None = Field(
        description="The same instant on the athlete's clock (with its offset), when the provider gave one."
    )
    timezone: str | None
    utc_offset_seconds: int | None
    elapsed_time_s: int | None
    moving_time_s: int | None
    distance_m: float | None
    elevation_gain_m: float | None
    average_heartrate: float | None
    max_heartrate: float | None
    average_power_w: float | None
    max_power_w: float | None
    normalized_power_w: float | None
    average_speed_mps: float | None
    max_speed_mps: float | None
    average_cadence: float | None
    calories: float | None
    device_name: str | None
    is_manual: bool
    matched_session_id: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, activity: Activity, also_from: list[str]) -> ActivityOut:
        offset = activity.utc_offset_seconds
        local = (
            activity.start_time.astimezone(dt_timezone(timedelta(seconds=offset)))
            if offset is not None
            else None
        )
        return cls(
            id=str(activity.id),
            provider=activity.provider,
            external_id=activity.external_id,
            also_from=also_from,
            sport=activity.sport,
            sub_sport=activity.sub_sport,
            sport_type=activity.sport_type,
            name=activity.name,
            start_time=activity.start_time,
            start_local=local,
            timezone=activity.timezone,
            utc_offset_seconds=offset,
            elapsed_time_s=activity.elapsed_time_s,
            moving_time_s=activity.moving_time_s,
            distance_m=activity.distance_m,
            elevation_gain_m=activity.elevation_gain_m,
            average_heartrate=activity.average_heartrate,
            max_heartrate=activity.max_heartrate,
            average_power_w=activity.average_power_w,
            max_power_w=activity.max_power_w,
            normalized_power_w=activity.normalized_power_w,
            average_speed_mps=activity.average_speed_mps,
            max_speed_mps=activity.max_speed_mps,
            average_cadence=activity.average_cadence,
            calories=activity.calories,
            device_name=activity.device_name,
            is_manual=activity.is_manual,
            matched_session_id=activity.matched_session_id,
            updated_at=activity.updated_at,
        )


class ActivityList(BaseModel):
    activities: list[ActivityOut]
    pagination: Pagination


class DateSpan(BaseModel):
    """Days of the athlete's calendar, both included."""

    start: date
    end: date


class StatsTotals(BaseModel):
    activities: int
    hours: float
    distance_km: float


class SwimTotals(BaseModel):
    count: int
    distance_m: int
    hours: float


class SportTotals(BaseModel):
    count: int
    distance_km: float
    hours: float


class Trend(BaseModel):
    """This period so far minus the same number of days at the start of the previous one."""

    hours: float
    activities: int


class Trends(BaseModel):
    vs_previous_period: Trend | None = Field(description="None for `all`, which has no previous period.")


class PeriodStats(BaseModel):
    totals: StatsTotals
    by_sport: dict[str, SwimTotals | SportTotals] = Field(
        description="`swim` (metres), `bike` and `run` (kilometres) always; other sports when there are any."
    )
    trends: Trends


class StatsOut(BaseModel):
    period: StatsPeriod
    dates: DateSpan | None = Field(description="The calendar period's first and last day; None for `all`.")
    stats: PeriodStats


class AnalysisTotals(BaseModel):
    activities: int
    hours: float


class SwimAnalysis(BaseModel):
    count: int
    distance_m: int
    duration_min: int
    avg_pace_100m: int | None = Field(description="Seconds per 100 m; None without a timed distance.")


class BikeAnalysis(BaseModel):
    count: int
    distance_km: float
    duration_min: int
    avg_speed_kmh: float | None
    avg_power_w: int | None = Field(description="Time-weighted, over the rides with a power meter.")


class RunAnalysis(BaseModel):
    count: int
    distance_km: float
    duration_min: int
    avg_pace_min_km: float | None = Field(
        description="Minutes per kilometre, in decimal minutes (5.5 = 5:30)."
    )


class AnalysisBySport(BaseModel):
    swim: SwimAnalysis
    bike: BikeAnalysis
    run: RunAnalysis


class WeeklyAverage(BaseModel):
    hours: float
    sessions: float


class HeartRateZone(BaseModel):
    zone: int
    name: str
    min_bpm: int
    max_bpm: int


class DetectedZones(BaseModel):
    hr_zones: list[HeartRateZone] = Field(description="Five zones from the maximum; empty without one.")
    max_heartrate: int | None = Field(description="The highest plausible heart rate recorded (bpm).")
    source: Literal["strava"] = "strava"


class LevelBasis(BaseModel):
    """What `estimated_level` was read from: swim, bike and run only."""

    weekly_hours: float
    active_weeks: int = Field(description="Weeks with at least two swim, bike or run sessions.")
    weeks: int


class StravaAnalysis(BaseModel):
    period: DateSpan
    totals: AnalysisTotals
    by_sport: AnalysisBySport
    weekly_avg: WeeklyAverage
    zones_detected: DetectedZones
    estimated_level: Level
    level_basis: LevelBasis


class StravaAnalysisOut(BaseModel):
    analysis: StravaAnalysis
