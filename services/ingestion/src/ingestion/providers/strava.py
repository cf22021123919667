"""Strava: its webhooks carry only ids, so every created or updated activity is read back with
`GET /activities/{id}` (a DetailedActivity); a backfill pages through `GET /athlete/activities`
(SummaryActivities, which lack `calories` and `device_name`).

Sports: every documented `sport_type` is mapped; an unknown one falls back to the older `type`, then to
`other`. Sub-sports come from the type (`TrailRun`, `VirtualRide`, `GravelRide`, ...) and from `trainer`
(a ride or run on a trainer is `indoor`/`treadmill`). Strava does not say whether a swim was in a pool:
a swim with a GPS track is `open_water`, one recorded by a device without a position (or flagged
`trainer`) is `pool`, a manual one is left unknown.

Units are Strava's own SI ones; `average_cadence` stays as Strava gives it (per minute, strides for runs).
Strava writes 0 where nothing was measured (a manual entry's distance, speeds of a session in one place):
those become None. Power counts only when a power meter measured it (`device_watts`); Strava's estimate
for rides without one stays in `raw`, as do `kilojoules`."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingestion.providers.base import (
    ActivityData,
    Fetched,
    Notification,
    Page,
    ProviderApi,
    ProviderHttp,
    ProviderUnavailable,
    Sport,
    SubSport,
    started_within,
)
from ingestion.providers.values import number

PROVIDER = "strava"
PER_PAGE = 200
"""Strava's largest page of `GET /athlete/activities`."""

SPORTS: dict[str, tuple[Sport, SubSport | None]] = {
    # Foot
    "Run": ("run", None),
    "TrailRun": ("run", "trail"),
    "VirtualRun": ("run", "virtual"),
    "Walk": ("walk", None),
    "Hike": ("hike", None),
    "Snowshoe": ("hike", None),
    "Wheelchair": ("other", None),
    # Cycle
    "Ride": ("bike", None),
    "VirtualRide": ("bike", "virtual"),
    "MountainBikeRide": ("bike", "mountain"),
    "GravelRide": ("bike", "gravel"),
    "EBikeRide": ("bike", "e_bike"),
    "EMountainBikeRide": ("bike", "e_bike"),
    "Velomobile": ("bike", None),
    "Handcycle": ("bike", None),
    # Water
    "Swim": ("swim", None),
    "Rowing": ("row", None),
    "VirtualRow": ("row", "virtual"),
    "Kayaking": ("other", None),
    "Canoeing": ("other", None),
    "StandUpPaddling": ("other", None),
    "Surfing": ("other", None),
    "Kitesurf": ("other", None),
    "Windsurf": ("other", None),
    "Sail": ("other", None),
    # Winter
    "AlpineSki": ("ski", None),
    "BackcountrySki": ("ski", None),
    "NordicSki": ("ski", None),
    "Snowboard": ("ski", None),
    "RollerSki": ("ski", None),
    "IceSkate": ("other", None),
    # Gym and studio
    "WeightTraining": ("strength", None),
    "Crossfit": ("strength", None),
    "Workout": ("cardio", None),
    "HighIntensityIntervalTraining": ("cardio", None),
    "Elliptical": ("cardio", None),
    "StairStepper": ("cardio", None),
    "Yoga": ("yoga", None),
    "Pilates": ("yoga", None),
    # Everything else Strava knows
    "InlineSkate": ("other", None),
    "Skateboard": ("other", None),
    "RockClimbing": ("other", None),
    "Golf": ("other", None),
    "Soccer": ("other", None),
    "Tennis": ("other", None),
    "Badminton": ("other", None),
    "Pickleball": ("other", None),
    "Racquetball": ("other", None),
    "Squash": ("other", None),
    "TableTennis": ("other", None),
}
"""Strava's documented `sport_type` values (and the older `type` values, all among them) in Relay's terms."""

_INDOOR: dict[Sport, SubSport] = {"bike": "indoor", "run": "treadmill", "row": "indoor", "swim": "pool"}
_TIMEZONE = re.compile(r"^\(GMT[+-]\d{2}:\d{2}\)\s+(?P<name>\S+)$")


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """A Strava SummaryActivity or DetailedActivity in Relay's model; None when it has no id or no start
    (nothing Relay could store)."""
    start_time = _start_time(payload)
    if payload.get("id") is None or start_time is None:
        return None
    sport_type = str(payload.get("sport_type") or payload.get("type") or "Workout")
    sport, sub_sport = _sport(payload, sport_type)
    manual = bool(payload.get("manual"))
    distance = _positive(payload.get("distance"))
    # Only what was measured: heart rate with a sensor, power from a power meter, speeds over a distance.
    heart = payload if payload.get("has_heartrate") is not False else {}
    power = payload if payload.get("device_watts") is not False else {}
    moved = payload if distance is not None else {}
    athlete = payload.get("athlete")
    return ActivityData(
        provider=PROVIDER,
        external_id=str(payload["id"]),
        provider_user_id=str(athlete["id"]) if isinstance(athlete, dict) and "id" in athlete else None,
        sport=sport,
        sub_sport=sub_sport,
        sport_type=sport_type,
        name=payload.get("name") or None,
        start_time=start_time,
        timezone=_timezone(payload.get("timezone")),
        utc_offset_seconds=_utc_offset(payload, start_time),
        elapsed_time_s=_seconds(payload.get("elapsed_time")),
        moving_time_s=_seconds(payload.get("moving_time")),
        distance_m=distance,
        # Nothing climbs without moving: a manual entry's 0 is no measurement.
        elevation_gain_m=None if manual or distance is None else number(payload.get("total_elevation_gain")),
        average_heartrate=_positive(heart.get("average_heartrate")),
        max_heartrate=_positive(heart.get("max_heartrate")),
        average_power_w=_positive(power.get("average_watts")),
        max_power_w=_positive(power.get("max_watts")),
        normalized_power_w=_positive(power.get("weighted_average_watts")),
        average_speed_mps=_positive(moved.get("average_speed")),
        max_speed_mps=_positive(moved.get("max_speed")),
        average_cadence=_positive(payload.get("average_cadence")),
        calories=_positive(payload.get("calories")),
        device_name=payload.get("device_name") or None,
        is_manual=manual,
        raw=payload,
    )


class StravaApi:
    """Strava's reading of activities: a notification's activity fetched by id, and the athlete's list
    between two dates, 200 at a time."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The activity a notification is about. Athlete notifications (a deauthorization, a profile
        change) bring no activity. An update may say the activity became private or changed type: it
        is read again whatever the update says, and a 404 (private to Relay, or deleted since) raises
        `NotFoundAtProvider` for the worker to decide."""
        if notification.object_type != "activity":
            return Fetched()
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        payload = await http.get_json(f"/activities/{notification.object_id}")
        if not isinstance(payload, dict):
            raise ProviderUnavailable("strava answered an activity that is not a JSON object")
        activity = normalize(payload)
        return Fetched(activities=[activity] if activity is not None else [])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One page of the activities that started in [since, until), oldest first (Strava sorts so when
        `after` is given, which keeps pages stable while new activities arrive). The cursor is the next
        page's number; a page shorter than 200 is the last."""
        page = int((cursor or {}).get("page", 1))
        params = {
            # Strava's bounds are whole seconds, both exclusive: `after` is the second before the period
            # starts. Should Strava ever include a bound, what falls outside the period is dropped below.
            "after": math.ceil(since.timestamp()) - 1,
            "before": math.ceil(until.timestamp()),
            "page": page,
            "per_page": PER_PAGE,
        }
        payloads = await http.get_json("/athlete/activities", params)
        if not isinstance(payloads, list):
            raise ProviderUnavailable("strava answered an activity list that is not a JSON array")
        activities = started_within(payloads, normalize, since, until)
        return Page(activities=activities, cursor={"page": page + 1} if len(payloads) >= PER_PAGE else None)


API: ProviderApi = StravaApi()


def _sport(payload: dict[str, Any], sport_type: str) -> tuple[Sport, SubSport | None]:
    sport, sub_sport = SPORTS.get(sport_type) or SPORTS.get(str(payload.get("type")), ("other", None))
    if sport == "swim":
        return sport, _swim_venue(payload)
    if payload.get("trainer") and sub_sport is None:
        sub_sport = _INDOOR.get(sport)
    return sport, sub_sport


def _swim_venue(payload: dict[str, Any]) -> SubSport | None:
    if payload.get("trainer"):
        return "pool"
    route = payload.get("map")
    if payload.get("start_latlng") or (isinstance(route, dict) and route.get("summary_polyline")):
        return "open_water"
    # Open-water modes always record a position; a device swim without one was counted in lengths.
    return None if payload.get("manual") else "pool"


def _start_time(payload: dict[str, Any]) -> datetime | None:
    start = _parse_time(payload.get("start_date"))
    if start is not None:
        return start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    local, offset = _parse_time(payload.get("start_date_local")), number(payload.get("utc_offset"))
    if local is None or offset is None:
        return None
    return local.replace(tzinfo=UTC) - timedelta(seconds=offset)


def _utc_offset(payload: dict[str, Any], start_time: datetime) -> int | None:
    offset = number(payload.get("utc_offset"))
    if offset is not None:
        return round(offset)
    # Strava writes the local start with a `Z` as if it were UTC: the difference is the offset.
    local = _parse_time(payload.get("start_date_local"))
    if local is None:
        return None
    return round((local.replace(tzinfo=UTC) - start_time).total_seconds())


def _timezone(value: Any) -> str | None:
    """`(GMT+01:00) Europe/Paris` → `Europe/Paris`, when that is a time zone Relay knows."""
    if not isinstance(value, str):
        return None
    match = _TIMEZONE.match(value.strip())
    name = match["name"] if match else value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _positive(value: Any) -> float | None:
    read = number(value)
    return read if read is not None and read > 0 else None


def _seconds(value: Any) -> int | None:
    seconds = _positive(value)
    return round(seconds) if seconds is not None else None
