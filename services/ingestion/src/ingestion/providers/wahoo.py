"""Wahoo's Cloud API: the `workout_summary` webhook carries the summary and its workout, and
`GET /v1/workouts?page&per_page` lists workouts with their summaries, the most recent first.

A sport is a `workout_type_id`; Wahoo writes its decimals as text and its times in UTC, and a summary
may name the athlete's time zone (`time_zone`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
from ingestion.providers.values import integer_or_text, number_or_text

PROVIDER = "wahoo"
WORKOUTS_PATH = "/v1/workouts"
PER_PAGE = 50
CREDENTIAL_FIELDS = frozenset({"webhook_token"})
"""The webhook body names Relay's own webhook token; it is not kept with the activity."""

WORKOUT_TYPES: dict[int, tuple[str, Sport, SubSport | None]] = {
    0: ("BIKING", "bike", None),
    1: ("RUNNING", "run", None),
    2: ("FE", "cardio", "indoor"),
    3: ("RUNNING_TRACK", "run", "track"),
    4: ("RUNNING_TRAIL", "run", "trail"),
    5: ("RUNNING_TREADMILL", "run", "treadmill"),
    6: ("WALKING", "walk", None),
    7: ("WALKING_SPEED", "walk", None),
    8: ("WALKING_NORDIC", "walk", None),
    9: ("HIKING", "hike", None),
    10: ("MOUNTAINEERING", "hike", "mountain"),
    11: ("BIKING_CYCLECROSS", "bike", "gravel"),
    12: ("BIKING_INDOOR", "bike", "indoor"),
    13: ("BIKING_MOUNTAIN", "bike", "mountain"),
    14: ("BIKING_RECUMBENT", "bike", None),
    15: ("BIKING_ROAD", "bike", "road"),
    16: ("BIKING_TRACK", "bike", "track"),
    17: ("BIKING_MOTOCYCLING", "other", None),
    18: ("FE_GENERAL", "cardio", "indoor"),
    19: ("FE_TREADMILL", "run", "treadmill"),
    20: ("FE_ELLIPTICAL", "cardio", "indoor"),
    21: ("FE_BIKE", "bike", "indoor"),
    22: ("FE_ROWER", "row", "indoor"),
    23: ("FE_CLIMBER", "cardio", "indoor"),
    25: ("SWIMMING_LAP", "swim", "pool"),
    26: ("SWIMMING_OPEN_WATER", "swim", "open_water"),
    27: ("SNOWBOARDING", "ski", None),
    28: ("SKIING", "ski", None),
    29: ("SKIING_DOWNHILL", "ski", None),
    30: ("SKIINGCROSS_COUNTRY", "ski", None),
    31: ("SKATING", "other", None),
    32: ("SKATING_ICE", "other", None),
    33: ("SKATING_INLINE", "other", None),
    34: ("LONG_BOARDING", "other", None),
    35: ("SAILING", "other", None),
    36: ("WINDSURFING", "other", None),
    37: ("CANOEING", "other", None),
    38: ("KAYAKING", "other", None),
    39: ("ROWING", "row", None),
    40: ("KITEBOARDING", "other", None),
    41: ("STAND_UP_PADDLE_BOARD", "other", None),
    42: ("WORKOUT", "strength", None),
    43: ("CARDIO_CLASS", "cardio", "indoor"),
    44: ("STAIR_CLIMBER", "cardio", "indoor"),
    45: ("WHEELCHAIR", "other", None),
    46: ("GOLFING", "other", None),
    47: ("OTHER", "other", None),
    49: ("BIKING_INDOOR_CYCLING_CLASS", "bike", "indoor"),
    56: ("WALKING_TREADMILL", "walk", "treadmill"),
    61: ("BIKING_INDOOR_TRAINER", "bike", "indoor"),
    62: ("MULTISPORT", "other", None),
    63: ("TRANSITION", "other", None),
    64: ("EBIKING", "bike", "e_bike"),
    65: ("TICKR_OFFLINE", "other", None),
    66: ("YOGA", "yoga", None),
    67: ("RUNNING_RACE", "run", None),
    68: ("BIKING_INDOOR_VIRTUAL", "bike", "virtual"),
    69: ("MENTAL_STRENGTH", "other", None),
    70: ("HANDCYCLING", "bike", None),
    71: ("RUNNING_INDOOR_VIRTUAL", "run", "virtual"),
    255: ("UNKNOWN", "other", None),
}
"""Wahoo's documented workout types: its name, Relay's sport and sub-sport."""


def sport_of(workout_type_id: int | None) -> tuple[Sport, SubSport | None]:
    """Relay's sport for a Wahoo `workout_type_id` (`other` for one Wahoo has not documented)."""
    if workout_type_id not in WORKOUT_TYPES:
        return "other", None
    _, sport, sub_sport = WORKOUT_TYPES[workout_type_id]
    return sport, sub_sport


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """A Wahoo workout as Relay's activity, from any of the shapes Wahoo gives it in: a listed workout
    (its `workout_summary` inside), a summary (its `workout` inside) or the whole webhook body. None
    when the workout itself is missing (a summary alone says neither when nor what)."""
    workout, summary, user_id = _workout_and_summary(payload)
    start = _time(workout.get("starts"))
    if workout.get("id") is None or start is None:
        return None
    type_id = integer_or_text(workout.get("workout_type_id"))
    sport, sub_sport = sport_of(type_id)
    zone = _zone(summary.get("time_zone"))
    offset = start.astimezone(zone).utcoffset() if zone else None
    minutes = number_or_text(workout.get("minutes"))
    # A workout without its summary yet still says how long it lasted, in whole minutes.
    elapsed = number_or_text(summary.get("duration_total_accum")) or (minutes * 60 if minutes else None)
    moving = number_or_text(summary.get("duration_active_accum"))
    return ActivityData(
        provider=PROVIDER,
        external_id=str(workout["id"]),
        provider_user_id=_text(user_id if user_id is not None else workout.get("user_id")),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=str(type_id) if type_id is not None else "",
        name=_text(workout.get("name")),
        start_time=start,
        timezone=zone.key if zone else None,
        utc_offset_seconds=int(offset.total_seconds()) if offset is not None else None,
        elapsed_time_s=round(elapsed) if elapsed is not None else None,
        moving_time_s=round(moving) if moving is not None else None,
        distance_m=number_or_text(summary.get("distance_accum")),
        elevation_gain_m=number_or_text(summary.get("ascent_accum")),
        average_heartrate=number_or_text(summary.get("heart_rate_avg")),
        average_power_w=number_or_text(summary.get("power_avg", summary.get("power_bike_avg"))),
        normalized_power_w=number_or_text(summary.get("power_bike_np_last")),
        average_speed_mps=number_or_text(summary.get("speed_avg")),
        average_cadence=number_or_text(summary.get("cadence_avg")),
        calories=number_or_text(summary.get("calories_accum")),
        is_manual=summary.get("manual") is True,
        raw={key: value for key, value in payload.items() if key not in CREDENTIAL_FIELDS},
    )


class WahooApi:
    """Wahoo's Cloud API for one athlete."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The webhook carries the summary and its workout; a summary that came without its workout is
        completed from `GET /v1/workouts/{id}` (the notification's object id is the workout's)."""
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        activity = normalize(notification.payload)
        if activity is None:
            workout = await http.get_json(f"{WORKOUTS_PATH}/{notification.object_id}", auth=self.auth)
            activity = normalize(workout) if isinstance(workout, dict) else None
        if activity is None:
            return Fetched()
        if activity.provider_user_id is None:
            activity = activity.model_copy(update={"provider_user_id": notification.owner_id})
        return Fetched(activities=[activity])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One page of the athlete's workouts, keeping those that started in [since, until). Wahoo lists
        the most recent first and filters nothing: the walk stops at the first workout older than
        `since`, or at the last page."""
        page = int(cursor["page"]) if cursor else 1
        answer = await http.get_json(WORKOUTS_PATH, {"page": page, "per_page": PER_PAGE}, auth=self.auth)
        workouts = answer.get("workouts") if isinstance(answer, dict) else None
        if not isinstance(workouts, list):
            raise ProviderUnavailable("wahoo answered something that is not a page of workouts")
        activities: list[ActivityData] = []
        older_than_since = False
        for workout in workouts:
            activity = normalize(workout) if isinstance(workout, dict) else None
            if activity is None:
                continue
            older_than_since = older_than_since or activity.start_time < since
            if since <= activity.start_time < until:
                owner = activity.provider_user_id or http.provider_user_id
                activities.append(activity.model_copy(update={"provider_user_id": owner}))
        total = integer_or_text(answer.get("total"))
        last_page = len(workouts) < PER_PAGE or (total is not None and page * PER_PAGE >= total)
        return Page(
            activities=activities, cursor=None if last_page or older_than_since else {"page": page + 1}
        )


API = WahooApi()


def _workout_and_summary(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    user = payload.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if "workout_summary" in payload and "starts" not in payload:  # the webhook body
        payload = payload.get("workout_summary") or {}
    if isinstance(payload.get("workout"), dict):  # a summary, its workout inside
        return payload["workout"], payload, user_id
    summary = payload.get("workout_summary")
    return payload, summary if isinstance(summary, dict) else {}, user_id


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _zone(value: Any) -> ZoneInfo | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
