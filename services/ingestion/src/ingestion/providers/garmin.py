"""Garmin's Activity API: activity summaries pushed in the webhook itself, or a ping whose callback URL
serves them, and the pull endpoint over upload times for a period.

Garmin's summaries are already in SI units; the local time is given as an offset from UTC
(`startTimeOffsetInSeconds`), never as a time zone name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingestion.providers.base import (
    ActivityData,
    Fetched,
    Notification,
    Page,
    ProviderHttp,
    ProviderUnavailable,
    Sport,
    SubSport,
)
from ingestion.providers.values import number

PROVIDER = "garmin"
ACTIVITIES_PATH = "/wellness-api/rest/activities"
MAX_UPLOAD_RANGE_SECONDS = 86400
"""Garmin refuses a pull over more than a day of uploads."""

SPORTS: dict[str, tuple[Sport, SubSport | None]] = {
    "RUNNING": ("run", None),
    "STREET_RUNNING": ("run", "road"),
    "TRACK_RUNNING": ("run", "track"),
    "TRAIL_RUNNING": ("run", "trail"),
    "TREADMILL_RUNNING": ("run", "treadmill"),
    "INDOOR_RUNNING": ("run", "indoor"),
    "VIRTUAL_RUN": ("run", "virtual"),
    "ULTRA_RUN": ("run", None),
    "OBSTACLE_RUN": ("run", None),
    "WHEELCHAIR_PUSH_RUN": ("run", None),
    "CYCLING": ("bike", None),
    "ROAD_BIKING": ("bike", "road"),
    "MOUNTAIN_BIKING": ("bike", "mountain"),
    "DOWNHILL_BIKING": ("bike", "mountain"),
    "ENDURO_MTB": ("bike", "mountain"),
    "GRAVEL_CYCLING": ("bike", "gravel"),
    "CYCLOCROSS": ("bike", "gravel"),
    "TRACK_CYCLING": ("bike", "track"),
    "INDOOR_CYCLING": ("bike", "indoor"),
    "VIRTUAL_RIDE": ("bike", "virtual"),
    "E_BIKE_FITNESS": ("bike", "e_bike"),
    "E_BIKE_MOUNTAIN": ("bike", "e_bike"),
    "E_ENDURO_MTB": ("bike", "e_bike"),
    "RECUMBENT_CYCLING": ("bike", None),
    "HANDCYCLING": ("bike", None),
    "INDOOR_HANDCYCLING": ("bike", "indoor"),
    "BMX": ("bike", None),
    "SWIMMING": ("swim", None),
    "LAP_SWIMMING": ("swim", "pool"),
    "OPEN_WATER_SWIMMING": ("swim", "open_water"),
    "WALKING": ("walk", None),
    "CASUAL_WALKING": ("walk", None),
    "SPEED_WALKING": ("walk", None),
    "INDOOR_WALKING": ("walk", "indoor"),
    "WHEELCHAIR_PUSH_WALK": ("walk", None),
    "HIKING": ("hike", None),
    "RUCKING": ("hike", None),
    "MOUNTAINEERING": ("hike", "mountain"),
    "ROWING": ("row", None),
    "INDOOR_ROWING": ("row", "indoor"),
    "CROSS_COUNTRY_SKIING": ("ski", None),
    "SKATE_SKIING": ("ski", None),
    "BACKCOUNTRY_SKIING": ("ski", None),
    "BACKCOUNTRY_SNOWBOARDING": ("ski", None),
    "RESORT_SKIING": ("ski", None),
    "RESORT_SKIING_SNOWBOARDING": ("ski", None),
    "SNOWBOARDING": ("ski", None),
    "STRENGTH_TRAINING": ("strength", None),
    "YOGA": ("yoga", None),
    "PILATES": ("yoga", None),
    "MOBILITY": ("yoga", None),
    "INDOOR_CARDIO": ("cardio", "indoor"),
    "HIIT": ("cardio", None),
    "ELLIPTICAL": ("cardio", "indoor"),
    "STAIR_CLIMBING": ("cardio", "indoor"),
    "FLOOR_CLIMBING": ("cardio", None),
    "JUMP_ROPE": ("cardio", None),
    "FITNESS_EQUIPMENT": ("cardio", "indoor"),
}
"""Garmin's activity types (Health API, appendix A) that Relay tells apart; any other is `other`."""

CREDENTIAL_FIELDS = frozenset({"userAccessToken"})
"""OAuth 1.0a pushes name the athlete's token; it is not kept with the activity."""

_CADENCE_FIELDS: dict[Sport, tuple[str, ...]] = {
    "bike": ("averageBikeCadenceInRoundsPerMinute",),
    "swim": ("averageSwimCadenceInStrokesPerMinute",),
    "run": ("averageRunCadenceInStepsPerMinute", "averagePushCadenceInPushesPerMinute"),
}


def sport_of(activity_type: str) -> tuple[Sport, SubSport | None]:
    """Relay's sport for a Garmin activity type. Garmin suffixes some types with `_V2` (water sports)
    or `_WS` (winter sports) without changing what they are."""
    name = activity_type.strip().upper()
    for suffix in ("_V2", "_WS"):
        name = name.removesuffix(suffix)
    return SPORTS.get(name, ("other", None))


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """One Garmin activity summary as Relay's activity. None for what is not one activity: a
    multisport parent (its legs come as summaries of their own) or a summary without a start."""
    start = number(payload.get("startTimeInSeconds"))
    external_id = payload.get("summaryId") or payload.get("activityId")
    if start is None or external_id is None or payload.get("isParent") is True:
        return None
    activity_type = str(payload.get("activityType") or "OTHER")
    sport, sub_sport = sport_of(activity_type)
    offset = number(payload.get("startTimeOffsetInSeconds"))
    duration = number(payload.get("durationInSeconds"))
    return ActivityData(
        provider=PROVIDER,
        external_id=str(external_id),
        provider_user_id=_text(payload.get("userId")),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=activity_type,
        name=_text(payload.get("activityName")),
        start_time=datetime.fromtimestamp(start, UTC),
        utc_offset_seconds=int(offset) if offset is not None else None,
        elapsed_time_s=round(duration) if duration is not None else None,
        distance_m=number(payload.get("distanceInMeters")),
        elevation_gain_m=number(payload.get("totalElevationGainInMeters")),
        average_heartrate=number(payload.get("averageHeartRateInBeatsPerMinute")),
        max_heartrate=number(payload.get("maxHeartRateInBeatsPerMinute")),
        average_power_w=number(payload.get("averagePowerInWatts")),
        average_speed_mps=number(payload.get("averageSpeedInMetersPerSecond")),
        max_speed_mps=number(payload.get("maxSpeedInMetersPerSecond")),
        average_cadence=_first_number(payload, _CADENCE_FIELDS.get(sport, ())),
        calories=number(payload.get("activeKilocalories")),
        device_name=_text(payload.get("deviceName")),
        is_manual=payload.get("manual") is True,
        raw={key: value for key, value in payload.items() if key not in CREDENTIAL_FIELDS},
    )


class GarminApi:
    """Garmin's Activity API for one athlete."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """A pushed summary is read as it is; a ping (`callbackURL`) is followed to the summaries it
        announces, which Garmin serves from its own API origin only."""
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        callback = notification.payload.get("callbackURL")
        if not callback:
            activity = normalize(notification.payload)
            activities = [activity] if activity else []
        else:
            activities = _normalize_all(await http.get_json(str(callback), auth=self.auth))
        return Fetched(activities=[_owned_by(a, notification.owner_id) for a in activities])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One day of uploads per page, from `since` (or the cursor's `upload_start`) to `until`,
        keeping the activities that started in [since, until). Garmin selects by upload time, so an
        activity uploaded after `until` is not seen: a period that ends now misses none."""
        start = int(cursor["upload_start"]) if cursor else int(since.timestamp())
        stop = int(until.timestamp())
        if start >= stop:
            return Page(activities=[], cursor=None)
        end = min(start + MAX_UPLOAD_RANGE_SECONDS, stop)
        params = {"uploadStartTimeInSeconds": start, "uploadEndTimeInSeconds": end}
        answer = await http.get_json(ACTIVITIES_PATH, params, auth=self.auth)
        activities = [
            _owned_by(a, http.provider_user_id)
            for a in _normalize_all(answer)
            if since <= a.start_time < until
        ]
        return Page(activities=activities, cursor={"upload_start": end} if end < stop else None)


API = GarminApi()


def _normalize_all(answer: Any) -> list[ActivityData]:
    if not isinstance(answer, list):
        raise ProviderUnavailable("garmin answered something that is not a list of activity summaries")
    activities = (normalize(summary) for summary in answer if isinstance(summary, dict))
    return [activity for activity in activities if activity is not None]


def _owned_by(activity: ActivityData, provider_user_id: str) -> ActivityData:
    if activity.provider_user_id is not None:
        return activity
    return activity.model_copy(update={"provider_user_id": provider_user_id})


def _first_number(payload: dict[str, Any], fields: tuple[str, ...]) -> float | None:
    for field_name in fields:
        value = number(payload.get(field_name))
        if value is not None:
            return value
    return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
