"""Garmin's Health and Activity API on the fake: activity summaries as Garmin pushes them, the ping that
points at them instead, and the pull endpoint both lead to,
`GET /wellness-api/rest/activities?uploadStartTimeInSeconds&uploadEndTimeInSeconds`.

Garmin selects summaries by when they reached Garmin Connect, not by when the activity started, and
refuses a range longer than 86400 seconds. The fake takes an activity to have been uploaded when it
ended (`startTimeInSeconds + durationInSeconds`), as a watch that syncs at once would do."""

from __future__ import annotations

import random
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

GARMIN_API_URL = "https://apis.garmin.com"
ACTIVITIES_PATH = "/wellness-api/rest/activities"
MAX_UPLOAD_RANGE_SECONDS = 86400

_rng = random.Random()

_CYCLING = {
    "CYCLING",
    "ROAD_BIKING",
    "MOUNTAIN_BIKING",
    "GRAVEL_CYCLING",
    "INDOOR_CYCLING",
    "VIRTUAL_RIDE",
    "TRACK_CYCLING",
    "CYCLOCROSS",
    "E_BIKE_FITNESS",
}
_SWIMMING = {"SWIMMING", "LAP_SWIMMING", "OPEN_WATER_SWIMMING"}
_WITHOUT_DISTANCE = {"STRENGTH_TRAINING", "YOGA", "PILATES", "HIIT", "INDOOR_CARDIO", "BREATHWORK"}


def garmin_activity(user_id: str, **overrides: Any) -> dict[str, Any]:
    """An activity summary as Garmin's Activity API pushes it (and its pull endpoint answers it): a
    10 km run from a Forerunner unless `overrides` say otherwise. The fields that only some sports
    have follow `activityType` (bike cadence for rides, strokes and lengths for swims, no distance
    for gym sessions); `overrides` replace or add any field, and a field set to None is left out."""
    activity_id = overrides.get("activityId", _rng.randint(10_000_000_000, 19_999_999_999))
    activity_type = overrides.get("activityType", "RUNNING")
    start = overrides.get("startTimeInSeconds", int(time.time()) - 86400)
    summary: dict[str, Any] = {
        "userId": user_id,
        "summaryId": str(activity_id),
        "activityId": activity_id,
        "activityName": _default_name(activity_type),
        "activityType": activity_type,
        "startTimeInSeconds": start,
        "startTimeOffsetInSeconds": 7200,
        "durationInSeconds": 3012,
        "deviceName": "Forerunner 965",
        "activeKilocalories": 648,
        "averageHeartRateInBeatsPerMinute": 148,
        "maxHeartRateInBeatsPerMinute": 171,
        "manual": False,
    }
    if activity_type in _CYCLING:
        summary |= {
            "deviceName": "Edge 840",
            "durationInSeconds": 5420,
            "distanceInMeters": 42195.4,
            "averageSpeedInMetersPerSecond": 7.785,
            "maxSpeedInMetersPerSecond": 14.2,
            "averageBikeCadenceInRoundsPerMinute": 87.0,
            "maxBikeCadenceInRoundsPerMinute": 112.0,
            "totalElevationGainInMeters": 412.0,
            "totalElevationLossInMeters": 409.0,
        }
    elif activity_type in _SWIMMING:
        summary |= {
            "durationInSeconds": 2405,
            "distanceInMeters": 2000.0,
            "averageSpeedInMetersPerSecond": 0.832,
            "maxSpeedInMetersPerSecond": 1.12,
            "averageSwimCadenceInStrokesPerMinute": 28.0,
            "numberOfActiveLengths": 80 if activity_type == "LAP_SWIMMING" else None,
            "averageHeartRateInBeatsPerMinute": 132,
        }
    elif activity_type not in _WITHOUT_DISTANCE:
        summary |= {
            "distanceInMeters": 10012.3,
            "averageSpeedInMetersPerSecond": 3.324,
            "maxSpeedInMetersPerSecond": 4.31,
            "averagePaceInMinutesPerKilometer": 5.014,
            "maxPaceInMinutesPerKilometer": 3.867,
            "averageRunCadenceInStepsPerMinute": 172.0,
            "maxRunCadenceInStepsPerMinute": 188.0,
            "steps": 8636,
            "totalElevationGainInMeters": 86.0,
            "totalElevationLossInMeters": 84.0,
            "startingLatitudeInDegree": 45.7578,
            "startingLongitudeInDegree": 4.8320,
        }
    summary |= overrides
    return {key: value for key, value in summary.items() if value is not None}


def garmin_push(*summaries: dict[str, Any]) -> dict[str, Any]:
    """The body of an Activity API push: the summaries themselves."""
    return {"activities": list(summaries)}


def garmin_ping(
    user_id: str, start: int, end: int, *, api_url: str = GARMIN_API_URL, token: str | None = None
) -> dict[str, Any]:
    """One entry of an activities ping: where to pull the summaries uploaded in [start, end).
    `api_url` is the API's base (`fake.urls("garmin")["api_url"]` on the fake)."""
    query = urlencode(
        {
            "uploadStartTimeInSeconds": start,
            "uploadEndTimeInSeconds": end,
            "token": token or secrets.token_hex(16),
        }
    )
    return {
        "userId": user_id,
        "uploadStartTimeInSeconds": start,
        "uploadEndTimeInSeconds": end,
        "callbackURL": f"{api_url.rstrip('/')}{ACTIVITIES_PATH}?{query}",
    }


def uploaded_at(summary: dict[str, Any]) -> int:
    """When the fake takes the activity to have reached Garmin: as it ended."""
    return int(summary.get("startTimeInSeconds", 0)) + int(summary.get("durationInSeconds", 0))


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    garmin = DIALECTS["garmin"]

    @app.get(f"/garmin{ACTIVITIES_PATH}")
    async def garmin_activities(request: Request) -> list[dict[str, Any]]:
        """The token owner's summaries uploaded in [uploadStartTimeInSeconds, uploadEndTimeInSeconds).
        A ping's callback adds a `token`; the bearer token is what the fake checks."""
        _, user = oauth.bearer("garmin", bearer_token(request))
        try:
            start = int(request.query_params["uploadStartTimeInSeconds"])
            end = int(request.query_params["uploadEndTimeInSeconds"])
        except (KeyError, ValueError):
            raise garmin.api_failure(
                400, "bad_request", "uploadStartTimeInSeconds and uploadEndTimeInSeconds are required"
            ) from None
        if end <= start or end - start > MAX_UPLOAD_RANGE_SECONDS:
            raise garmin.api_failure(
                400,
                "bad_request",
                f"The time range must be positive and at most {MAX_UPLOAD_RANGE_SECONDS} s",
            )
        summaries = state.activities("garmin", user.user_id).values()
        return [s for s in summaries if start <= uploaded_at(s) < end]


def _default_name(activity_type: str) -> str:
    if activity_type in _CYCLING:
        return "Lyon Cycling"
    if activity_type in _SWIMMING:
        return "Pool Swim" if activity_type == "LAP_SWIMMING" else "Open Water Swim"
    return "Lyon " + activity_type.replace("_", " ").title()
