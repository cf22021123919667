"""COROS's official API: workout summaries pushed in the webhook itself (`sportDataList`), and
`GET /v2/coros/sport/list` by dates for a period, with the access token and the athlete's `openId` in
the query. COROS answers `{"result": "0000", "message", "data"}`; another `result` is a refusal even
inside an HTTP 200.

A sport is a `mode` and a `subMode` (8/1 an outdoor run, 9/2 an indoor ride, 10/2 a pool swim, ...);
the time zone is `startTimezone`, in quarters of an hour east of UTC; `calorie` is in calories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    TokenRejected,
)
from ingestion.providers.values import integer_or_text, number_or_text

PROVIDER = "coros"
SPORT_LIST_PATH = "/v2/coros/sport/list"
RESULT_OK = "0000"
TOKEN_RESULTS = frozenset({"1001", "1002", "1003"})
"""Results that mean the access token is refused (missing, invalid, expired)."""
QUARTER_HOUR_SECONDS = 15 * 60
CALORIES_PER_KCAL = 1000
WINDOW = timedelta(days=30)
"""How much of the period one list call covers."""

SPORTS: dict[tuple[int, int], tuple[Sport, SubSport | None]] = {
    (8, 1): ("run", None),
    (8, 2): ("run", "indoor"),
    (9, 1): ("bike", None),
    (9, 2): ("bike", "indoor"),
    (10, 1): ("swim", "open_water"),
    (10, 2): ("swim", "pool"),
    (13, 1): ("other", None),
    (13, 2): ("other", None),
    (13, 3): ("ski", None),
    (14, 1): ("hike", "mountain"),
    (15, 1): ("run", "trail"),
    (16, 1): ("hike", None),
    (18, 1): ("cardio", None),
    (18, 2): ("cardio", "indoor"),
    (19, 1): ("ski", None),
    (20, 1): ("run", "track"),
    (21, 1): ("ski", None),
    (21, 2): ("ski", None),
    (22, 1): ("other", None),
    (23, 2): ("strength", None),
    (24, 1): ("row", None),
    (24, 2): ("row", "indoor"),
    (25, 1): ("other", None),
    (26, 1): ("other", None),
    (27, 1): ("other", None),
    (28, 1): ("other", None),
    (29, 1): ("ski", None),
    (31, 1): ("walk", None),
    (33, 2): ("other", None),
    (34, 2): ("cardio", None),
}
"""COROS's sports (`mode`, `subMode`): run, indoor run, ride, indoor ride, open water, pool swim,
triathlon, multisport, ski touring, mountain climb, trail run, hike, GPS cardio, gym cardio, cross-country
ski, track run, ski, snowboard, pilot (flight), strength, rowing, indoor rower, whitewater, flatwater,
windsurfing, speedsurfing, ski touring, walk, single-pitch climbing, jump rope."""

MODES: dict[int, Sport] = {
    8: "run",
    9: "bike",
    10: "swim",
    14: "hike",
    15: "run",
    16: "hike",
    18: "cardio",
    19: "ski",
    20: "run",
    21: "ski",
    23: "strength",
    24: "row",
    29: "ski",
    31: "walk",
}
"""The sport of a `mode` whose `subMode` is not listed above (a variant COROS added since)."""


def sport_of(mode: int, sub_mode: int) -> tuple[Sport, SubSport | None]:
    """Relay's sport for a COROS `mode` and `subMode`."""
    return SPORTS.get((mode, sub_mode)) or (MODES.get(mode, "other"), None)


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """One COROS workout summary as Relay's activity; None without an id, a sport or a start."""
    label_id = payload.get("labelId")
    mode = integer_or_text(payload.get("mode"))
    sub_mode = integer_or_text(payload.get("subMode")) or 0
    start = integer_or_text(payload.get("startTime"))
    if label_id in (None, "") or mode is None or start is None:
        return None
    sport, sub_sport = sport_of(mode, sub_mode)
    end = integer_or_text(payload.get("endTime"))
    duration = integer_or_text(payload.get("duration"))
    distance = number_or_text(payload.get("distance"))
    zone = integer_or_text(payload.get("startTimezone"))
    calorie = number_or_text(payload.get("calorie"))
    return ActivityData(
        provider=PROVIDER,
        external_id=str(label_id),
        provider_user_id=_text(payload.get("openId")),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=f"{mode}-{sub_mode}",
        name=_text(payload.get("name")),
        start_time=datetime.fromtimestamp(start, UTC),
        utc_offset_seconds=zone * QUARTER_HOUR_SECONDS if zone is not None else None,
        elapsed_time_s=end - start if end is not None and end >= start else duration,
        moving_time_s=duration,
        distance_m=distance,
        average_heartrate=number_or_text(payload.get("avgHeartRate")),
        # COROS's own speed field is a pace for some sports: the speed is the distance over the time.
        average_speed_mps=distance / duration if distance and duration else None,
        average_cadence=number_or_text(payload.get("avgFrequency")),
        calories=calorie / CALORIES_PER_KCAL if calorie is not None else None,
        device_name=_text(payload.get("deviceName")),
        raw=payload,
    )


class CorosApi:
    """COROS's official API for one athlete (`http.provider_user_id` is their `openId`)."""

    provider = PROVIDER
    auth = "query:token"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """COROS pushes the summaries themselves: read without a call."""
        del http
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        activity = normalize(notification.payload)
        if activity is None:
            return Fetched()
        if activity.provider_user_id is None:
            activity = activity.model_copy(update={"provider_user_id": notification.owner_id})
        return Fetched(activities=[activity])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """Thirty days per page, from `since` (or the cursor's `window_start`) to `until`. COROS
        selects by the athlete's local date, so each call asks for a day more on both sides and keeps
        the workouts that started in the window."""
        start = datetime.fromtimestamp(int(cursor["window_start"]), UTC) if cursor else since
        if start >= until:
            return Page(activities=[], cursor=None)
        end = min(start + WINDOW, until)
        params = {
            "openId": http.provider_user_id,
            "startDate": (start - timedelta(days=1)).strftime("%Y%m%d"),
            "endDate": (end + timedelta(days=1)).strftime("%Y%m%d"),
        }
        answer = await http.get_json(SPORT_LIST_PATH, params, auth=self.auth)
        activities = []
        for workout in _workouts(answer):
            activity = normalize(workout)
            if activity is not None and start <= activity.start_time < end:
                owner = activity.provider_user_id or http.provider_user_id
                activities.append(activity.model_copy(update={"provider_user_id": owner}))
        next_cursor = {"window_start": int(end.timestamp())} if end < until else None
        return Page(activities=activities, cursor=next_cursor)


API = CorosApi()


def _workouts(answer: Any) -> list[dict[str, Any]]:
    """The `data` of a COROS answer, or the refusal its `result` says."""
    if not isinstance(answer, dict):
        raise ProviderUnavailable("coros answered something that is not a result object")
    result = str(answer.get("result", ""))
    if result in TOKEN_RESULTS:
        raise TokenRejected(f"coros refused the athlete's token (result {result})")
    if result != RESULT_OK:
        raise ProviderUnavailable(f"coros answered result {result or 'none'}")
    data = answer.get("data") or []
    if not isinstance(data, list):
        raise ProviderUnavailable("coros answered data that is not a list")
    return [workout for workout in data if isinstance(workout, dict)]


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
