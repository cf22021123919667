"""Fitbit Web API: a subscriber notification (`[{collectionType, date, ownerId, ownerType,
subscriptionId}]`) says only that the athlete's `activities` of a date changed, so Relay lists that
date's exercises: `GET /1/user/-/activities/list.json?afterDate=<date>&sort=asc&offset=0&limit=100`, page
after page (the answer's `pagination.next`), until the entries pass the date. A period is read the same
way from a day before it, stopping once the entries pass it.

Fitbit writes each exercise's start in the athlete's local time with its offset
(`2019-01-03T12:08:23.000-08:00`), durations in milliseconds, and distances in the unit system of the
request (`distanceUnit` `Kilometer` or `Mile`; speed per hour and elevation in feet follow the same
system); Relay converts them all to SI. A notification does not say what was deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
from ingestion.providers.values import aware, number

PROVIDER = "fitbit"
ACTIVITY_LIST_PATH = "/1/user/-/activities/list.json"
PAGE_LIMIT = 100
"""Fitbit's maximum `limit` for the activity log list."""
DAY_PAGES = 10
"""Pages read for one notified date at most (a thousand exercises, far more than a day holds)."""
METRES_PER_UNIT = {"Kilometer": 1000.0, "Mile": 1609.344, "Meter": 1.0}
METRES_PER_FOOT = 0.3048

SportAndSub = tuple[Sport, SubSport | None]

ACTIVITY_TYPES: dict[int, SportAndSub] = {
    90009: ("run", None),
    90001: ("bike", None),
    90024: ("swim", None),
    90013: ("walk", None),
    2131: ("strength", None),
    2040: ("cardio", None),
    52000: ("yoga", None),
}
"""Fitbit's `activityTypeId`s of the exercises it records or suggests most (Run, Bike, Swim, Walk,
Weights, Circuit Training, Yoga): read first, since `activityName` follows the request's locale."""

ACTIVITY_NAMES: dict[str, SportAndSub] = {
    "run": ("run", None),
    "treadmill": ("run", "treadmill"),
    "bike": ("bike", None),
    "outdoor bike": ("bike", None),
    "spinning": ("bike", "indoor"),
    "swim": ("swim", None),
    "walk": ("walk", None),
    "hike": ("hike", None),
    "rowing machine": ("row", "indoor"),
    "weights": ("strength", None),
    "weight lifting": ("strength", None),
    "elliptical": ("cardio", None),
    "interval workout": ("cardio", None),
    "circuit training": ("cardio", None),
    "aerobic workout": ("cardio", None),
    "bootcamp": ("cardio", None),
    "stairclimber": ("cardio", None),
    "kickboxing": ("cardio", None),
    "yoga": ("yoga", None),
    "pilates": ("yoga", None),
}
"""Fitbit's exercise names (English) for the types whose id is not in `ACTIVITY_TYPES`; `Sport`,
`Workout` and the named sports are `other` unless their words say otherwise (see `sport_of`)."""

_WORDS: tuple[tuple[str, SportAndSub], ...] = (
    ("treadmill", ("run", "treadmill")),
    ("run", ("run", None)),
    ("bik", ("bike", None)),
    ("cycl", ("bike", None)),
    ("swim", ("swim", None)),
    ("walk", ("walk", None)),
    ("hik", ("hike", None)),
    ("rowing", ("row", None)),
    ("ski", ("ski", None)),
    ("weight", ("strength", None)),
    ("strength", ("strength", None)),
    ("yoga", ("yoga", None)),
    ("pilates", ("yoga", None)),
)


def sport_of(activity_type_id: Any, activity_name: Any) -> SportAndSub:
    """Relay's sport for a Fitbit exercise: by its type id, else its name, else the words in it."""
    if isinstance(activity_type_id, int) and activity_type_id in ACTIVITY_TYPES:
        return ACTIVITY_TYPES[activity_type_id]
    name = activity_name.strip().lower() if isinstance(activity_name, str) else ""
    if name in ACTIVITY_NAMES:
        return ACTIVITY_NAMES[name]
    for word, sport in _WORDS:
        if word in name:
            return sport
    return "other", None


def _seconds(milliseconds: Any) -> int | None:
    value = number(milliseconds)
    return round(value / 1000) if value is not None else None


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """A Fitbit activity log entry in Relay's model; None when it lacks a log id or a readable start.
    Every exercise Fitbit logs is kept, auto-detected walks included: it logs only those that lasted
    (10 minutes or more), and walking is part of an athlete's load."""
    log_id = payload.get("logId")
    start = aware(payload.get("startTime"))
    if log_id in (None, "") or start is None:
        return None
    metres_per_unit = METRES_PER_UNIT.get(str(payload.get("distanceUnit", "Kilometer")), 1000.0)
    metres_per_climb_unit = METRES_PER_FOOT if payload.get("distanceUnit") == "Mile" else 1.0
    distance = number(payload.get("distance"))
    elevation = number(payload.get("elevationGain"))
    speed = number(payload.get("speed"))
    source = payload.get("source")
    if not isinstance(source, dict):
        source = {}
    name = payload.get("activityName") if isinstance(payload.get("activityName"), str) else None
    sport, sub_sport = sport_of(payload.get("activityTypeId"), name)
    offset = start.utcoffset()
    return ActivityData(
        provider=PROVIDER,
        external_id=str(log_id),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=name or str(payload.get("activityTypeId", "")),
        name=name,
        start_time=start.astimezone(UTC),
        utc_offset_seconds=int(offset.total_seconds()) if offset is not None else None,
        elapsed_time_s=_seconds(payload.get("duration")),
        moving_time_s=_seconds(payload.get("activeDuration")),
        distance_m=distance * metres_per_unit if distance is not None else None,
        elevation_gain_m=elevation * metres_per_climb_unit if elevation is not None else None,
        average_heartrate=number(payload.get("averageHeartRate")),
        average_speed_mps=speed * metres_per_unit / 3600 if speed is not None else None,
        calories=number(payload.get("calories")),
        device_name=source.get("name") if isinstance(source.get("name"), str) else None,
        is_manual=payload.get("logType") == "manual",
        raw=payload,
    )


def _local_day(entry: dict[str, Any]) -> date | None:
    """The date of the entry in the athlete's local time, the one notifications name."""
    start = aware(entry.get("startTime"))
    return start.date() if start is not None else None


def _entries_and_next(answer: Any, http: ProviderHttp) -> tuple[list[dict[str, Any]], str | None]:
    """The page's entries and where the next page is (a path under the API base where possible, so
    that a stored cursor outlives a change of the base URL); None after the last page."""
    if not isinstance(answer, dict) or not isinstance(answer.get("activities"), list):
        raise ProviderUnavailable("fitbit answered an activity list without `activities`")
    entries = [entry for entry in answer["activities"] if isinstance(entry, dict)]
    pagination = answer.get("pagination")
    next_url = pagination.get("next") if isinstance(pagination, dict) else None
    if not isinstance(next_url, str) or not next_url:
        return entries, None
    if next_url.startswith(f"{http.base_url}/"):
        return entries, next_url.removeprefix(http.base_url)
    return entries, next_url


def _first_page(after: date) -> dict[str, str | int]:
    return {"afterDate": after.isoformat(), "sort": "asc", "offset": 0, "limit": PAGE_LIMIT}


class FitbitApi:
    """Fitbit's activity log, read with the athlete's bearer token."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The exercises of the date an `activities` notification names (other collections hold no
        exercise: nothing to read)."""
        if notification.object_type != "activities":
            return Fetched()
        day = date.fromisoformat(notification.object_id)
        activities: list[ActivityData] = []
        page: str = ACTIVITY_LIST_PATH
        params: dict[str, str | int] | None = _first_page(day)
        for _ in range(DAY_PAGES):
            entries, next_page = _entries_and_next(await http.get_json(page, params), http)
            for entry in entries:
                entry_day = _local_day(entry)
                if entry_day is not None and entry_day > day:
                    return Fetched(activities=activities)
                if entry_day == day and (activity := normalize(entry)) is not None:
                    activities.append(activity)
            if next_page is None:
                break
            page, params = next_page, None
        return Fetched(activities=activities)

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One page (100 entries, oldest first) of the exercises that started in [since, until). Fitbit
        compares `afterDate` with local times and sorts by them: the listing starts a day early, and
        stops once the entries are a day past the period."""
        if cursor and cursor.get("next"):
            answer = await http.get_json(str(cursor["next"]))
        else:
            answer = await http.get_json(ACTIVITY_LIST_PATH, _first_page((since - timedelta(days=1)).date()))
        entries, next_page = _entries_and_next(answer, http)
        activities: list[ActivityData] = []
        for entry in entries:
            activity = normalize(entry)
            if activity is None:
                continue
            if activity.start_time >= until + timedelta(days=1):
                return Page(activities=activities, cursor=None)
            if since <= activity.start_time < until:
                activities.append(activity)
        return Page(activities=activities, cursor={"next": next_page} if next_page else None)


API = FitbitApi()
