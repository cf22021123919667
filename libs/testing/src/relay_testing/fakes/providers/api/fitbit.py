"""The Fitbit Web API's activity log on the fake: `GET /fitbit/1/user/-/activities/list.json` with either
`afterDate` (and `sort=asc`) or `beforeDate` (and `sort=desc`), `offset` and `limit` (at most 100),
answering `{activities, pagination}` whose `next` and `previous` are the URLs of the neighbouring pages.
It is bearer-checked (the `activity` scope is needed) and serves the exercises a test stored
(`put_activity("fitbit", user_id, log_id, payload)`), compared and sorted by their local start time as
Fitbit does: a bare `afterDate` keeps its whole day, a date-time only what follows it. Errors come in
Fitbit's `{"errors": [...], "success": false}`.

Payloads for tests: `fitbit_activity(...)` (an activity log entry) and `fitbit_notification(...)` (the
subscriber notification Fitbit posts)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import ProviderError
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

FITBIT_API_URL = "https://api.fitbit.com"
MAX_LIMIT = 100
ACTIVITY_SCOPE = "activity"

_rng = random.Random()


def fitbit_time(moment: datetime) -> str:
    """A local time as Fitbit writes `startTime`: `2019-01-03T12:08:23.000-08:00`."""
    return moment.isoformat(timespec="milliseconds")


def fitbit_activity(
    *,
    start: datetime | None = None,
    utc_offset_minutes: int = -480,
    duration_s: float = 1536,
    distance_km: float = 4.020064,
    **overrides: Any,
) -> dict[str, Any]:
    """An activity log entry as the list answers it: a run the tracker detected, started at `start`
    (timezone-aware; a day ago when None) in a zone `utc_offset_minutes` east of UTC, its distance in
    kilometres (the metric unit system). `overrides` replace or add fields (`activityName`,
    `activityTypeId`, `logType`, `distanceUnit`, ...)."""
    zone = timezone(timedelta(minutes=utc_offset_minutes))
    local_start = (start or datetime.now(UTC) - timedelta(days=1)).astimezone(zone)
    log_id = _rng.randint(10_000_000_000, 99_999_999_999)
    milliseconds = round(duration_s * 1000)
    day = local_start.date().isoformat()
    begin, finish = f"{local_start:%H:%M}", f"{local_start + timedelta(seconds=duration_s):%H:%M}"
    link = f"{FITBIT_API_URL}/1/user/-/activities"
    return {
        "activeDuration": milliseconds,
        "activityLevel": [
            {"minutes": 0, "name": "sedentary"},
            {"minutes": 1, "name": "lightly"},
            {"minutes": 3, "name": "fairly"},
            {"minutes": round(duration_s / 60) - 4, "name": "very"},
        ],
        "activityName": "Run",
        "activityTypeId": 90009,
        "averageHeartRate": 150,
        "calories": 284,
        "caloriesLink": f"{link}/calories/date/{day}/{day}/1min/time/{begin}/{finish}.json",
        "distance": distance_km,
        "distanceUnit": "Kilometer",
        "duration": milliseconds,
        "elevationGain": 12.2,
        "hasActiveZoneMinutes": True,
        "hasGps": False,
        "heartRateLink": f"{link}/heart/date/{day}/{day}/1sec/time/{begin}/{finish}.json",
        "heartRateZones": [
            {"caloriesOut": 0, "max": 98, "min": 30, "minutes": 0, "name": "Out of Range"},
            {"caloriesOut": 12.4, "max": 137, "min": 98, "minutes": 2, "name": "Fat Burn"},
            {"caloriesOut": 230.1, "max": 166, "min": 137, "minutes": 21, "name": "Cardio"},
            {"caloriesOut": 41.5, "max": 220, "min": 166, "minutes": 3, "name": "Peak"},
        ],
        "lastModified": (local_start + timedelta(seconds=duration_s, hours=2))
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "logId": log_id,
        "logType": "auto_detected",
        "manualValuesSpecified": {"calories": False, "distance": False, "steps": False},
        "originalDuration": milliseconds,
        "originalStartTime": fitbit_time(local_start),
        "pace": duration_s / distance_km if distance_km else 0,
        "source": {
            "id": "311214012",
            "name": "Charge 6",
            "trackerFeatures": ["HEARTRATE", "DISTANCE", "CALORIES", "STEPS", "ELEVATION"],
            "type": "tracker",
            "url": "https://www.fitbit.com/",
        },
        "speed": distance_km / (duration_s / 3600) if duration_s else 0,
        "startTime": fitbit_time(local_start),
        "steps": 3783,
        "tcxLink": f"{link}/{log_id}.tcx",
        **overrides,
    }


def fitbit_notification(
    owner_id: str,
    day: date | str,
    *,
    collection_type: str = "activities",
    subscription_id: str = "relay-activities",
) -> list[dict[str, Any]]:
    """The subscriber notification Fitbit posts when the owner's `collection_type` of `day` changed."""
    return [
        {
            "collectionType": collection_type,
            "date": day.isoformat() if isinstance(day, date) else day,
            "ownerId": owner_id,
            "ownerType": "user",
            "subscriptionId": subscription_id,
        }
    ]


def _errors(status: int, error_type: str, message: str, field_name: str | None = None) -> ProviderError:
    error: dict[str, Any] = {"errorType": error_type}
    if field_name is not None:
        error["fieldName"] = field_name
    error["message"] = message
    return ProviderError(status, {"errors": [error], "success": False})


def _local_start(entry: dict[str, Any]) -> datetime | None:
    """The entry's start on the athlete's wall clock, which Fitbit compares and sorts by."""
    try:
        return datetime.fromisoformat(str(entry.get("startTime"))).replace(tzinfo=None)
    except ValueError:
        return None


def _bound(value: str) -> tuple[datetime, bool] | None:
    """An `afterDate`/`beforeDate` as a wall-clock time, and whether it was a bare date."""
    try:
        if "T" in value:
            return datetime.fromisoformat(value).replace(tzinfo=None), False
        return datetime.combine(date.fromisoformat(value), datetime.min.time()), True
    except ValueError:
        return None


@dataclass(frozen=True)
class ListQuery:
    """A valid query of the activity log list."""

    name: str
    """`afterDate` or `beforeDate`."""
    value: str
    moment: datetime
    whole_day: bool
    sort: str
    limit: int
    offset: int

    def keeps(self, local_start: datetime) -> bool:
        """Whether an entry starting at this wall-clock time is on the requested side of the date."""
        if self.name == "beforeDate":
            return local_start < self.moment
        return local_start >= self.moment if self.whole_day else local_start > self.moment


def list_query(query: Mapping[str, str]) -> ListQuery:
    """The query checked as Fitbit checks it; its 400 otherwise."""
    after, before = query.get("afterDate"), query.get("beforeDate")
    if after is not None and before is None:
        name, value, sort = "afterDate", after, "asc"
    elif before is not None and after is None:
        name, value, sort = "beforeDate", before, "desc"
    else:
        raise _errors(400, "validation", "Either beforeDate or afterDate should be specified.", "beforeDate")
    bound = _bound(value)
    if bound is None:
        raise _errors(400, "validation", f"Invalid {name}: {value}", name)
    if query.get("sort") != sort:
        raise _errors(400, "validation", f"Use sort={sort} with {name}.", "sort")
    try:
        limit, offset = int(query.get("limit", "")), int(query.get("offset", ""))
    except ValueError:
        raise _errors(400, "validation", "limit and offset are required integers.", "limit") from None
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise _errors(400, "validation", f"limit must be between 1 and {MAX_LIMIT}.", "limit")
    return ListQuery(name, value, *bound, sort=sort, limit=limit, offset=offset)


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    """Fitbit's activity log list under `/fitbit`."""

    @app.get("/fitbit/1/user/-/activities/list.json")
    async def fitbit_activity_list(request: Request) -> dict[str, Any]:
        grant, user = oauth.bearer("fitbit", bearer_token(request))
        if ACTIVITY_SCOPE not in grant.scopes:
            raise _errors(
                403,
                "insufficient_scope",
                "This application does not have permission to access activity data.",
            )
        asked = list_query(request.query_params)
        entries = [
            (local, entry)
            for entry in state.activities("fitbit", user.user_id).values()
            if (local := _local_start(entry)) is not None and asked.keeps(local)
        ]
        entries.sort(key=lambda item: item[0], reverse=asked.sort == "desc")
        offset, limit = asked.offset, asked.limit

        def page_url(page_offset: int) -> str:
            params = {"offset": page_offset, "limit": limit, "sort": asked.sort, asked.name: asked.value}
            return f"{request.url.replace(query='')}?{urlencode(params)}"

        return {
            "activities": [entry for _, entry in entries[offset : offset + limit]],
            "pagination": {
                asked.name: asked.value,
                "limit": limit,
                "next": page_url(offset + limit) if offset + limit < len(entries) else "",
                "offset": offset,
                "previous": page_url(max(0, offset - limit)) if offset > 0 else "",
                "sort": asked.sort,
            },
        }
