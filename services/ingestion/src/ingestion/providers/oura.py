"""Oura API v2: a webhook (`{event_type: create|update|delete, data_type: workout, object_id, event_time,
user_id}`) names a workout, read from `GET /v2/usercollection/workout/{id}`; a `delete` needs no call.
A period is read from `GET /v2/usercollection/workout?start_date&end_date&next_token`, which filters by
the workout's local `day` and pages with `next_token`.

Oura's `activity` is an open list of camelCase names (`running`, `strengthTraining`, ...) chosen in its
app; the names it documents or shows are mapped, any other by the words in it."""

from __future__ import annotations

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
from ingestion.providers.values import aware, number

PROVIDER = "oura"
WORKOUTS_PATH = "/v2/usercollection/workout"

SportAndSub = tuple[Sport, SubSport | None]

ACTIVITIES: dict[str, SportAndSub] = {
    "running": ("run", None),
    "trailRunning": ("run", "trail"),
    "treadmillRunning": ("run", "treadmill"),
    "cycling": ("bike", None),
    "indoorCycling": ("bike", "indoor"),
    "mountainBiking": ("bike", "mountain"),
    "swimming": ("swim", None),
    "walking": ("walk", None),
    "hiking": ("hike", None),
    "rowing": ("row", None),
    "kayaking": ("row", None),
    "crossCountrySkiing": ("ski", None),
    "downhillSkiing": ("ski", None),
    "snowboarding": ("ski", None),
    "strengthTraining": ("strength", None),
    "weightLifting": ("strength", None),
    "functionalTraining": ("strength", None),
    "elliptical": ("cardio", None),
    "hiit": ("cardio", None),
    "crossTraining": ("cardio", None),
    "stairExercise": ("cardio", None),
    "dancing": ("cardio", None),
    "aerobics": ("cardio", None),
    "yoga": ("yoga", None),
    "pilates": ("yoga", None),
    "stretching": ("yoga", None),
}
"""Oura's `activity` names with a sport of their own in Relay; the others (`houseWork`, `tennis`,
`golf`, `other`, ...) are `other` unless their words say otherwise (see `sport_of`)."""

_WORDS: tuple[tuple[str, SportAndSub], ...] = (
    ("treadmill", ("run", "treadmill")),
    ("run", ("run", None)),
    ("cycl", ("bike", None)),
    ("bik", ("bike", None)),
    ("swim", ("swim", None)),
    ("walk", ("walk", None)),
    ("hik", ("hike", None)),
    ("rowing", ("row", None)),
    ("ski", ("ski", None)),
    ("strength", ("strength", None)),
    ("weight", ("strength", None)),
    ("yoga", ("yoga", None)),
    ("pilates", ("yoga", None)),
)


def sport_of(activity: str | None) -> SportAndSub:
    """Relay's sport for an Oura `activity`."""
    if not activity:
        return "other", None
    if activity in ACTIVITIES:
        return ACTIVITIES[activity]
    lowered = activity.lower()
    for word, sport in _WORDS:
        if word in lowered:
            return sport
    return "other", None


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """An Oura workout in Relay's model; None when it lacks an id or a readable start."""
    workout_id = payload.get("id")
    start = aware(payload.get("start_datetime"))
    if not workout_id or start is None:
        return None
    end = aware(payload.get("end_datetime"))
    activity = payload.get("activity") if isinstance(payload.get("activity"), str) else None
    sport, sub_sport = sport_of(activity)
    offset = start.utcoffset()
    label = payload.get("label")
    return ActivityData(
        provider=PROVIDER,
        external_id=str(workout_id),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=activity or "other",
        name=label if isinstance(label, str) and label else None,
        start_time=start.astimezone(UTC),
        utc_offset_seconds=int(offset.total_seconds()) if offset is not None else None,
        elapsed_time_s=round((end - start).total_seconds()) if end is not None and end >= start else None,
        distance_m=number(payload.get("distance")),
        calories=number(payload.get("calories")),
        is_manual=payload.get("source") == "manual",
        raw=payload,
    )


class OuraApi:
    """Oura's workouts, read with the athlete's bearer token."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The workout a webhook names; a `delete` event is the deletion itself."""
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        workout = await http.get_json(f"{WORKOUTS_PATH}/{quote(notification.object_id, safe='')}")
        if not isinstance(workout, dict):
            raise ProviderUnavailable("oura answered a workout that is not an object")
        activity = normalize(workout)
        return Fetched(activities=[activity] if activity is not None else [])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One page of the workouts that started in [since, until). Oura filters by local day, and a
        date-only bound may leave its own day out: a day is asked on each side and the page filtered by
        the workouts' instants."""
        params: dict[str, str | int] = {
            "start_date": (since - timedelta(days=1)).date().isoformat(),
            "end_date": (until + timedelta(days=1)).date().isoformat(),
        }
        if cursor and cursor.get("next_token"):
            params["next_token"] = str(cursor["next_token"])
        answer = await http.get_json(WORKOUTS_PATH, params)
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise ProviderUnavailable("oura answered a workout list without `data`")
        activities = started_within(answer["data"], normalize, since, until)
        next_token = answer.get("next_token")
        return Page(activities=activities, cursor={"next_token": next_token} if next_token else None)


API = OuraApi()
