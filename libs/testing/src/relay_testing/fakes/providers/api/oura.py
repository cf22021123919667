"""Oura API v2's workouts on the fake: `GET /oura/v2/usercollection/workout` (by `start_date` and
`end_date`, paged with `next_token`) and `GET /oura/v2/usercollection/workout/{id}`, bearer-checked,
serving the workouts a test stored (`put_activity("oura", user_id, workout_id, payload)`). Errors come as
Oura's `{"detail": ...}`.

The list filters by the workout's local `day`: from `start_date` included to `end_date`, which a bare date
leaves out (Oura reads it as that day's midnight) and a date-time keeps. It answers `PAGE_SIZE` workouts a
page so that tests meet the paging.

Payloads for tests: `oura_workout(...)` and the webhook `oura_event(...)`."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import DIALECTS, ProviderError
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

PAGE_SIZE = 10


def oura_time(moment: datetime) -> str:
    """A date-time as Oura writes them, in the moment's own offset: `2024-03-10T07:12:00.000+01:00`."""
    return moment.isoformat(timespec="milliseconds")


def oura_workout(
    *,
    start: datetime | None = None,
    utc_offset_minutes: int = 60,
    duration_s: float = 2700,
    **overrides: Any,
) -> dict[str, Any]:
    """A workout as `GET /v2/usercollection/workout/{id}` answers it: an auto-detected run started at
    `start` (timezone-aware; a day ago when None), written in a zone `utc_offset_minutes` east of UTC.
    `overrides` replace or add fields (`activity`, `source`, `label`, `distance`, ...)."""
    zone = timezone(timedelta(minutes=utc_offset_minutes))
    local_start = (start or datetime.now(UTC) - timedelta(days=1)).astimezone(zone)
    return {
        "id": str(uuid.uuid4()),
        "activity": "running",
        "calories": 512.3,
        "day": local_start.date().isoformat(),
        "distance": 8012.4,
        "end_datetime": oura_time(local_start + timedelta(seconds=duration_s)),
        "intensity": "moderate",
        "label": None,
        "source": "autodetected",
        "start_datetime": oura_time(local_start),
        **overrides,
    }


def oura_event(
    user_id: str,
    object_id: str,
    event_type: str = "create",
    *,
    data_type: str = "workout",
    event_time: datetime | None = None,
) -> dict[str, Any]:
    """The webhook Oura posts to a subscription of `event_type` (`create`, `update`, `delete`) for
    `data_type`."""
    return {
        "event_type": event_type,
        "data_type": data_type,
        "object_id": object_id,
        "event_time": oura_time((event_time or datetime.now(UTC)).astimezone(UTC)),
        "user_id": user_id,
    }


def _next_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"workout:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    kind, _, offset = text.partition(":")
    return int(offset) if kind == "workout" and offset.isdigit() else None


def _bound(value: str) -> tuple[date, bool] | None:
    """A `start_date`/`end_date`: its day, and whether a time came with it."""
    try:
        if "T" in value:
            return datetime.fromisoformat(value).date(), True
        return date.fromisoformat(value), False
    except ValueError:
        return None


def _day(workout: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(workout.get("day")))
    except ValueError:
        return None


def _started(workout: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(workout.get("start_datetime")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    """Oura's workout endpoints under `/oura`."""
    oura = DIALECTS["oura"]

    def failure(status: int, detail: str) -> ProviderError:
        return ProviderError(status, oura.api_error(status, "bad_request", detail))

    @app.get("/oura/v2/usercollection/workout")
    async def oura_workouts(request: Request) -> dict[str, Any]:
        """The user's workouts of the days asked (by default yesterday and today), oldest first."""
        _, user = oauth.bearer("oura", bearer_token(request))
        query = request.query_params
        today = state.now_datetime().date()
        end = _bound(query["end_date"]) if "end_date" in query else (today, True)
        start = _bound(query["start_date"]) if "start_date" in query else None
        if end is None or ("start_date" in query and start is None):
            raise failure(400, "start_date and end_date must be dates (YYYY-MM-DD)")
        first = start[0] if start is not None else end[0] - timedelta(days=1)
        last_day, end_included = end
        if first > last_day:
            raise failure(400, "Start date is greater than end date")
        offset = _offset(query["next_token"]) if "next_token" in query else 0
        if offset is None:
            raise failure(400, "Invalid next_token")
        workouts = sorted(
            (
                workout
                for workout in state.activities("oura", user.user_id).values()
                if (day := _day(workout)) is not None
                and first <= day
                and (day <= last_day if end_included else day < last_day)
            ),
            key=_started,
        )
        page = workouts[offset : offset + PAGE_SIZE]
        more = offset + PAGE_SIZE < len(workouts)
        return {"data": page, "next_token": _next_token(offset + PAGE_SIZE) if more else None}

    @app.get("/oura/v2/usercollection/workout/{document_id}")
    async def oura_workout_by_id(document_id: str, request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("oura", bearer_token(request))
        workout = state.activities("oura", user.user_id).get(document_id)
        if workout is None:
            raise failure(404, "Document not found")
        return workout
