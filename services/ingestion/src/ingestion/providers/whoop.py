"""WHOOP API v2: a webhook (`{user_id, id, type: workout.updated|workout.deleted, trace_id}`) names a
workout by its UUID, read from `GET /developer/v2/activity/workout/{id}`; `workout.deleted` needs no
call. A period is read from `GET /developer/v2/activity/workout?start&end&limit&nextToken` (newest first,
at most 25 a page) answering `{records, next_token}`.

WHOOP gives energy in kilojoules (kept in `raw`; `calories` = kJ / 4.184), the distance and the climb in
metres, heart-rate zone durations in milliseconds (kept in `raw`), and the athlete's offset from UTC as
`timezone_offset` (`-05:00`). A workout is scored some time after it ends: until then (`PENDING_SCORE`,
or `UNSCORABLE`) it has no `score`, and a later `workout.updated` brings the measurements."""

from __future__ import annotations

import re
from datetime import UTC, datetime
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

PROVIDER = "whoop"
WORKOUTS_PATH = "/developer/v2/activity/workout"
PAGE_LIMIT = 25
"""WHOOP's maximum `limit` for the workout collection."""
KILOJOULES_PER_KILOCALORIE = 4.184

_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})$")

SportAndSub = tuple[Sport, SubSport | None]


def _sports(sport: Sport, sub_sport: SubSport | None, *names: str) -> dict[str, SportAndSub]:
    return dict.fromkeys(names, (sport, sub_sport))


SPORTS: dict[str, SportAndSub] = {
    **_sports("run", None, "running", "stroller-jogging", "obstacle-course-racing"),
    **_sports("run", "track", "track-field"),
    **_sports("bike", None, "cycling"),
    **_sports("bike", "mountain", "mountain-biking"),
    **_sports("bike", "indoor", "spin"),
    **_sports("swim", None, "swimming"),
    **_sports("walk", None, "walking", "dog-walking", "stroller-walking"),
    **_sports("hike", None, "hiking", "rucking", "hiking-rucking"),
    **_sports("row", None, "rowing", "kayaking"),
    **_sports("ski", None, "skiing", "cross-country-skiing", "snowboarding"),
    **_sports("strength", None, "weightlifting", "powerlifting", "strength-trainer", "functional-fitness"),
    **_sports("cardio", None, "hiit", "elliptical", "stairmaster", "stadium-steps", "assault-bike"),
    **_sports("cardio", None, "jumping-rope", "box-fitness", "f45-training", "barry-s", "dance"),
    **_sports("yoga", None, "yoga", "hot-yoga", "pilates", "barre", "barre3", "stretching"),
}
"""WHOOP's sport names (`sport_name`, lower case, words joined by `-`; read here after folding any
other separator to `-`). WHOOP's other sports (team, racket, combat, water and motor sports, `activity`,
work, recovery and everyday activities) are `other`."""


def sport_key(sport_name: str) -> str:
    """`Hiking/Rucking`, `hiking-rucking` and `hiking rucking` alike: `hiking-rucking`."""
    return re.sub(r"[^a-z0-9]+", "-", sport_name.lower()).strip("-")


def sport_of(sport_name: str | None) -> SportAndSub:
    """Relay's sport for a WHOOP `sport_name`."""
    return SPORTS.get(sport_key(sport_name or ""), ("other", None))


def offset_seconds(timezone_offset: Any) -> int | None:
    """Seconds east of UTC in a Time Zone Designator: `+hh:mm`, `-hh:mm` or `Z`."""
    if timezone_offset == "Z":
        return 0
    match = _OFFSET.match(timezone_offset) if isinstance(timezone_offset, str) else None
    if match is None:
        return None
    seconds = int(match["hours"]) * 3600 + int(match["minutes"]) * 60
    return -seconds if match["sign"] == "-" else seconds


def whoop_time(moment: datetime) -> str:
    """An instant as WHOOP writes them: `2022-04-24T11:25:44.774Z`."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """A WHOOP v2 workout in Relay's model; None when it lacks an id or a readable start."""
    workout_id = payload.get("id")
    start = aware(payload.get("start"))
    if not workout_id or start is None:
        return None
    end = aware(payload.get("end"))
    sport_name = payload.get("sport_name") if isinstance(payload.get("sport_name"), str) else None
    sport, sub_sport = sport_of(sport_name)
    score = payload.get("score")
    if not isinstance(score, dict) or payload.get("score_state") not in (None, "SCORED"):
        score = {}
    kilojoules = number(score.get("kilojoule"))
    user_id = payload.get("user_id")
    return ActivityData(
        provider=PROVIDER,
        external_id=str(workout_id),
        provider_user_id=str(user_id) if user_id is not None else None,
        sport=sport,
        sub_sport=sub_sport,
        sport_type=sport_name or str(payload.get("sport_id", "activity")),
        start_time=start.astimezone(UTC),
        utc_offset_seconds=offset_seconds(payload.get("timezone_offset")),
        elapsed_time_s=round((end - start).total_seconds()) if end is not None and end >= start else None,
        distance_m=number(score.get("distance_meter")),
        elevation_gain_m=number(score.get("altitude_gain_meter")),
        average_heartrate=number(score.get("average_heart_rate")),
        max_heartrate=number(score.get("max_heart_rate")),
        calories=kilojoules / KILOJOULES_PER_KILOCALORIE if kilojoules is not None else None,
        raw=payload,
    )


def _is_deletion(notification: Notification) -> bool:
    kind = notification.payload.get("type")
    return notification.aspect_type == "delete" or (isinstance(kind, str) and kind.endswith(".deleted"))


class WhoopApi:
    """WHOOP's workouts, read with the athlete's bearer token."""

    provider = PROVIDER
    auth = "bearer"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The workout a `workout.updated` webhook names; `workout.deleted` is the deletion itself."""
        if _is_deletion(notification):
            return Fetched(deleted=[notification.object_id])
        workout = await http.get_json(f"{WORKOUTS_PATH}/{quote(notification.object_id, safe='')}")
        if not isinstance(workout, dict):
            raise ProviderUnavailable("whoop answered a workout that is not an object")
        activity = normalize(workout)
        return Fetched(activities=[activity] if activity is not None else [])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One page (25 workouts, newest first) of the workouts that started in [since, until). WHOOP
        also returns workouts that only overlap the period's bounds; those are left out."""
        params: dict[str, str | int] = {
            "start": whoop_time(since),
            "end": whoop_time(until),
            "limit": PAGE_LIMIT,
        }
        if cursor and cursor.get("next_token"):
            params["nextToken"] = str(cursor["next_token"])
        answer = await http.get_json(WORKOUTS_PATH, params)
        if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
            raise ProviderUnavailable("whoop answered a workout collection without `records`")
        activities = started_within(answer["records"], normalize, since, until)
        next_token = answer.get("next_token")
        return Page(activities=activities, cursor={"next_token": next_token} if next_token else None)


API = WhoopApi()
