"""Polar AccessLink: an `EXERCISE` webhook (`{event, user_id, entity_id, timestamp, url}`) only names the
exercise, which is then read from `GET /v3/exercises/{entity_id}` (the webhook's `url` is that same
resource; the path is built from the id so that the configured API base is the one called).

AccessLink serves only the exercises uploaded to Polar Flow in the last 30 days, and only those uploaded
after the athlete was registered with Relay's client: older history cannot be backfilled from Polar,
whatever period a backfill asks for. Its list endpoint has no paging and no period parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ingestion.providers.base import (
    ActivityData,
    Fetched,
    Notification,
    Page,
    ProviderHttp,
    ProviderUnavailable,
    Sport,
    SubSport,
    started_within,
)
from ingestion.providers.values import number

PROVIDER = "polar"
EXERCISES_PATH = "/v3/exercises"
AVAILABLE_DAYS = 30
"""How far back AccessLink serves exercises (by upload time)."""

_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

SportAndSub = tuple[Sport, SubSport | None]


def _sports(sport: Sport, sub_sport: SubSport | None, *names: str) -> dict[str, SportAndSub]:
    return dict.fromkeys(names, (sport, sub_sport))


DETAILED_SPORTS: dict[str, SportAndSub] = {
    **_sports("run", None, "RUNNING", "JOGGING", "ULTRARUNNING_RUNNING", "DUATHLON_RUNNING"),
    **_sports("run", None, "TRIATHLON_RUNNING", "OBSTACLE_COURSE_RACING"),
    **_sports("run", "road", "ROAD_RUNNING"),
    **_sports("run", "trail", "TRAIL_RUNNING", "CROSS_COUNTRY_RUNNING", "ORIENTEERING"),
    **_sports("run", "trail", "OFFROADDUATHLON_RUNNING", "OFFROADTRIATHLON_RUNNING"),
    **_sports("run", "treadmill", "TREADMILL_RUNNING"),
    **_sports("run", "track", "TRACK_AND_FIELD_RUNNING"),
    **_sports("bike", None, "CYCLING", "DUATHLON_CYCLING", "TRIATHLON_CYCLING", "PARASPORTS_HAND_CYCLING"),
    **_sports("bike", "road", "ROAD_BIKING"),
    **_sports("bike", "indoor", "INDOOR_CYCLING", "SPINNING", "LES_MILLS_RPM", "LES_MILLS_SPRINT"),
    **_sports("bike", "indoor", "LES_MILLS_TRIP"),
    **_sports("bike", "mountain", "MOUNTAIN_BIKING", "ORIENTEERING_MTB"),
    **_sports("bike", "mountain", "OFFROADDUATHLON_CYCLING", "OFFROADTRIATHLON_CYCLING"),
    **_sports("bike", "gravel", "GRAVEL"),
    **_sports("bike", "e_bike", "E_BIKE"),
    **_sports("swim", None, "SWIMMING"),
    **_sports("swim", "pool", "POOL_SWIMMING"),
    **_sports("swim", "open_water", "OPEN_WATER_SWIMMING", "TRIATHLON_SWIMMING", "OFFROADTRIATHLON_SWIMMING"),
    **_sports("walk", None, "WALKING", "NORDIC_WALKING"),
    **_sports("hike", None, "HIKING", "SNOWSHOE_TREKKING", "RUCKING"),
    **_sports("row", None, "ROWING", "WATERSPORTS_CANOEING", "WATERSPORTS_KAYAKING"),
    **_sports("row", "indoor", "INDOOR_ROWING"),
    **_sports("ski", None, "CROSS-COUNTRY_SKIING", "XC_SKIING_CLASSIC", "XC_SKIING_FREESTYLE", "BIATHLON"),
    **_sports("ski", None, "BACKCOUNTRY_SKIING", "DOWNHILL_SKIING", "TELEMARK_SKIING", "SNOWBOARDING"),
    **_sports("ski", None, "ROLLER_SKIING_CLASSIC", "ROLLER_SKIING_FREESTYLE", "ORIENTEERING_SKI"),
    **_sports("ski", "indoor", "SKIERG"),
    **_sports("strength", None, "STRENGTH_TRAINING", "KETTLEBELL", "CALISTHENICS", "CORE"),
    **_sports("strength", None, "FUNCTIONAL_TRAINING", "LES_MILLS_BODYPUMP", "LES_MILLS_GRIT_STRENGTH"),
    **_sports("strength", None, "LES_MILLS_CXWORKS", "LES_MILLS_TONE"),
    **_sports("cardio", None, "AEROBICS", "BOOTCAMP", "CIRCUIT_TRAINING", "CROSS_TRAINER", "HIIT"),
    **_sports("cardio", None, "FITNESS_BOXING", "FITNESS_DANCING", "FITNESS_MARTIAL_ARTS", "FITNESS_RACING"),
    **_sports("cardio", None, "FITNESS_STEP", "GROUP_EXERCISE", "JUMP_ROPE", "STAIR_WORKOUT"),
    **_sports("cardio", None, "WATER_RUNNING", "AQUATICS", "WATER_EXERCISE", "LES_MILLS_BODYATTACK"),
    **_sports("cardio", None, "LES_MILLS_BODYCOMBAT", "LES_MILLS_BODYSTEP", "LES_MILLS_BODYJAM"),
    **_sports("cardio", None, "LES_MILLS_GRIT_CARDIO", "LES_MILLS_GRIT_ATHLETIC", "LES_MILLS_SHBAM"),
    **_sports("yoga", None, "YOGA", "PILATES", "STRETCHING", "MOBILITY_DYNAMIC", "MOBILITY_STATIC"),
    **_sports("yoga", None, "BODY_AND_MIND", "LES_MILLS_BODYBALANCE", "LES_MILLS_BARRE"),
}
"""AccessLink's `detailed_sport_info` values (its appendix "Detailed sport info values in exercise
entity"). The documented values missing here are team, racket, combat, water, motor and other sports
Relay compares as `other`; so is any value Polar adds later. The coarser `sport` field (`RUNNING`,
`CYCLING`, `SWIMMING`, `OTHER`, ...) is read through the same table when no detailed sport is set."""


def sport_of(detailed_sport: str | None, sport: str | None) -> SportAndSub:
    """Relay's sport for an exercise's `detailed_sport_info`, else its `sport`."""
    for name in (detailed_sport, sport):
        if name and name.upper() in DETAILED_SPORTS:
            return DETAILED_SPORTS[name.upper()]
    return "other", None


def iso_duration_seconds(value: str | None) -> float | None:
    """Seconds in an ISO-8601 duration such as `PT1H2M3.5S` (None when absent or unreadable)."""
    match = _ISO_DURATION.match(value or "")
    if not value or match is None:
        return None
    parts = {name: float(number) for name, number in match.groupdict().items() if number is not None}
    return timedelta(**parts).total_seconds()


def _start(start_time: str, offset_minutes: Any) -> tuple[datetime, int | None] | None:
    """The exercise's start in UTC and its offset in seconds: AccessLink writes the local wall time
    without a zone and the offset from UTC in minutes next to it."""
    try:
        local = datetime.fromisoformat(start_time)
    except ValueError:
        return None
    if local.tzinfo is not None:
        offset = local.utcoffset()
        return local.astimezone(UTC), int(offset.total_seconds()) if offset is not None else None
    if isinstance(offset_minutes, int | float) and not isinstance(offset_minutes, bool):
        offset_seconds = int(offset_minutes * 60)
        return (local - timedelta(seconds=offset_seconds)).replace(tzinfo=UTC), offset_seconds
    # Without an offset the wall time is all there is; reading it as UTC is the least wrong.
    return local.replace(tzinfo=UTC), None


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """An AccessLink exercise in Relay's model; None when it lacks an id or a readable start."""
    exercise_id = payload.get("id")
    start_time = payload.get("start_time")
    if exercise_id in (None, "") or not isinstance(start_time, str):
        return None
    start = _start(start_time, payload.get("start_time_utc_offset"))
    if start is None:
        return None
    start_utc, offset_seconds = start
    detailed, general = payload.get("detailed_sport_info"), payload.get("sport")
    sport, sub_sport = sport_of(detailed, general)
    heart_rate = payload.get("heart_rate")
    if not isinstance(heart_rate, dict):
        heart_rate = {}
    duration = iso_duration_seconds(payload.get("duration"))
    polar_user = payload.get("polar_user")
    return ActivityData(
        provider=PROVIDER,
        external_id=str(exercise_id),
        provider_user_id=polar_user.rstrip("/").rsplit("/", 1)[-1] if isinstance(polar_user, str) else None,
        sport=sport,
        sub_sport=sub_sport,
        sport_type=str(detailed or general or "OTHER"),
        start_time=start_utc,
        utc_offset_seconds=offset_seconds,
        elapsed_time_s=round(duration) if duration is not None else None,
        distance_m=number(payload.get("distance")),
        average_heartrate=number(heart_rate.get("average")),
        max_heartrate=number(heart_rate.get("maximum")),
        calories=number(payload.get("calories")),
        device_name=payload.get("device") if isinstance(payload.get("device"), str) else None,
        raw=payload,
    )


class PolarApi:
    """Polar AccessLink's exercises, read with the athlete's bearer token."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The exercise the webhook names. AccessLink sends no deletions; one arriving otherwise is
        passed on as such."""
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        exercise = await http.get_json(f"{EXERCISES_PATH}/{quote(notification.object_id, safe='')}")
        if not isinstance(exercise, dict):
            raise ProviderUnavailable("polar answered an exercise that is not an object")
        activity = normalize(exercise)
        return Fetched(activities=[activity] if activity is not None else [])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """The exercises that started in [since, until) among those AccessLink still serves (uploaded in
        the last 30 days): one call, one page."""
        exercises = await http.get_json(EXERCISES_PATH)
        if not isinstance(exercises, list):
            raise ProviderUnavailable("polar answered an exercise list that is not a list")
        activities = started_within(exercises, normalize, since, until)
        activities.sort(key=lambda activity: activity.start_time)
        return Page(activities=activities, cursor=None, expected_total=len(activities))


API = PolarApi()
