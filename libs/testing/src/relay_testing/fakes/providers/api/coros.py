"""COROS's official API on the fake: workout summaries as COROS pushes them (`{"sportDataList": [...]}`)
and its list, `GET /v2/coros/sport/list?token&openId&startDate&endDate`, which takes the access token as
a query parameter and answers `{"result": "0000", "message": "OK", "data": [...]}`.

Dates are `YYYYMMDD`, both included, and are the athlete's local dates: COROS gives each workout's time
zone as `startTimezone`, in quarters of an hour east of UTC (32 is UTC+8)."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.fakes.providers.oauth import COROS_OK, OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

SPORT_LIST_PATH = "/v2/coros/sport/list"
QUARTER_HOUR_SECONDS = 15 * 60

_rng = random.Random()

# (mode, subMode) of the sports the factory fills in differently.
_BIKE_MODE = 9
_SWIM_MODE = 10
_GYM_MODES = {18, 23, 34}


def coros_workout(open_id: str, **overrides: Any) -> dict[str, Any]:
    """A workout summary as COROS pushes it: an outdoor run (mode 8, subMode 1) in UTC+2 unless
    `overrides` say otherwise. Rides and swims get their own distance and cadence, gym sessions
    none; `endTime` follows `startTime` and `duration` unless given. A field set to None is left out.
    `calorie` is in calories (kcal x 1000), as COROS counts it."""
    mode = overrides.get("mode", 8)
    sub_mode = overrides.get("subMode", 1)
    start = overrides.get("startTime", int(time.time()) - 86400)
    label_id = overrides.get("labelId", str(_rng.randint(400_000_000_000_000_000, 499_999_999_999_999_999)))
    workout: dict[str, Any] = {
        "openId": open_id,
        "labelId": label_id,
        "mode": mode,
        "subMode": sub_mode,
        "startTime": start,
        "startTimezone": 8,
        "endTimezone": 8,
        "duration": 2995,
        "distance": 10005.0,
        "avgHeartRate": 151,
        "avgFrequency": 174,
        "calorie": 642000,
        "deviceName": "COROS PACE 3",
        "fitUrl": f"https://oss.coros.com/fit/{open_id}/{label_id}.fit",
    }
    if mode == _BIKE_MODE:
        workout |= {"duration": 5480, "distance": 41250.0, "avgFrequency": 88, "calorie": 1104000}
    elif mode == _SWIM_MODE:
        workout |= {"duration": 2380, "distance": 2000.0, "avgFrequency": 29, "avgHeartRate": 134}
    elif mode in _GYM_MODES:
        workout |= {"duration": 2700, "distance": None, "avgFrequency": None, "calorie": 310000}
    workout |= overrides
    workout.setdefault("endTime", workout["startTime"] + workout.get("duration", 0))
    return {key: value for key, value in workout.items() if value is not None}


def coros_push(*workouts: dict[str, Any]) -> dict[str, Any]:
    """The body of a COROS data push: the summaries, each with its athlete's `openId`."""
    return {"sportDataList": list(workouts)}


def local_date(workout: dict[str, Any]) -> date:
    """The athlete's date when the workout started, in the time zone COROS recorded."""
    offset = int(workout.get("startTimezone", 0)) * QUARTER_HOUR_SECONDS
    return (datetime.fromtimestamp(int(workout["startTime"]), UTC) + timedelta(seconds=offset)).date()


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    coros = DIALECTS["coros"]

    @app.get(f"/coros{SPORT_LIST_PATH}")
    async def coros_sport_list(request: Request) -> dict[str, Any]:
        """The workouts of `openId` whose local start date is in [startDate, endDate], oldest first."""
        params = request.query_params
        _, user = oauth.bearer("coros", params.get("token", ""))
        if params.get("openId") != user.user_id:
            raise coros.api_failure(403, "forbidden", "openId does not belong to the token")
        try:
            first = datetime.strptime(params["startDate"], "%Y%m%d").date()
            last = datetime.strptime(params["endDate"], "%Y%m%d").date()
        except (KeyError, ValueError):
            raise coros.api_failure(400, "invalid_request", "startDate and endDate are yyyyMMdd") from None
        workouts = [
            w for w in state.activities("coros", user.user_id).values() if first <= local_date(w) <= last
        ]
        workouts.sort(key=lambda w: int(w["startTime"]))
        data = [{k: v for k, v in w.items() if k != "openId"} for w in workouts]
        return {**COROS_OK, "data": data}
