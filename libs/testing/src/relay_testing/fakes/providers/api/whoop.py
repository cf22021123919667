"""WHOOP API v2's workouts on the fake: `GET /whoop/developer/v2/activity/workout` (by `start` and `end`,
`limit` up to 25, newest first, paged with `nextToken`) and `GET /whoop/developer/v2/activity/workout/{id}`,
bearer-checked, serving the workouts a test stored (`put_activity("whoop", user_id, workout_id, payload)`).
As WHOOP does, the list keeps the workouts that end after `start` and start before `end` (now when not
given). Errors come in WHOOP's shape.

Payloads for tests: `whoop_workout(...)` and the webhook `whoop_event(...)`."""

from __future__ import annotations

import base64
import binascii
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import DIALECTS, ProviderError
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

DEFAULT_LIMIT = 10
MAX_LIMIT = 25

_rng = random.Random()


def whoop_time(moment: datetime) -> str:
    """An instant as WHOOP writes them: `2022-04-24T11:25:44.774Z`."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def whoop_workout(
    *,
    start: datetime | None = None,
    duration_s: float = 3600,
    timezone_offset: str = "-05:00",
    user_id: str | int = 10129,
    sport_name: str = "running",
    **overrides: Any,
) -> dict[str, Any]:
    """A scored workout as `GET /developer/v2/activity/workout/{id}` answers it: a run with GPS started at
    `start` (timezone-aware; a day ago when None). `overrides` replace or add top-level fields (`score`,
    `score_state`, ...). The v1 ids (`v1_id`, `sport_id`) are left out: WHOOP stopped sending them after
    September 2025."""
    start = (start or datetime.now(UTC) - timedelta(days=1)).astimezone(UTC)
    end = start + timedelta(seconds=duration_s)
    return {
        "id": str(uuid.uuid4()),
        "user_id": int(user_id),
        "created_at": whoop_time(end + timedelta(minutes=3)),
        "updated_at": whoop_time(end + timedelta(minutes=19)),
        "start": whoop_time(start),
        "end": whoop_time(end),
        "timezone_offset": timezone_offset,
        "sport_name": sport_name,
        "score_state": "SCORED",
        "score": {
            "strain": 12.4821,
            "average_heart_rate": 151,
            "max_heart_rate": 178,
            "kilojoule": 3012.5,
            "percent_recorded": 100.0,
            "distance_meter": 10021.4,
            "altitude_gain_meter": 86.2,
            "altitude_change_meter": -1.4,
            "zone_durations": {
                "zone_zero_milli": 0,
                "zone_one_milli": 240000,
                "zone_two_milli": 960000,
                "zone_three_milli": 1620000,
                "zone_four_milli": 660000,
                "zone_five_milli": 120000,
            },
        },
        **overrides,
    }


def whoop_event(
    user_id: str | int, workout_id: str, event_type: str = "workout.updated", *, trace_id: str | None = None
) -> dict[str, Any]:
    """The webhook WHOOP posts for a workout: `workout.updated` (created or changed) or
    `workout.deleted`."""
    return {
        "user_id": int(user_id),
        "id": workout_id,
        "type": event_type,
        "trace_id": trace_id or str(uuid.uuid4()),
    }


def _next_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_rng.randint(100, 999)}:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, offset = text.partition(":")
    return int(offset) if colon and offset.isdigit() else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    """WHOOP's workout endpoints under `/whoop`."""
    whoop = DIALECTS["whoop"]

    def bad_request(description: str) -> ProviderError:
        return ProviderError(400, whoop.api_error(400, "invalid_request", description))

    @app.get("/whoop/developer/v2/activity/workout")
    async def whoop_workouts(request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("whoop", bearer_token(request))
        query = request.query_params
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            raise bad_request("limit must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
        start = _instant(query["start"]) if "start" in query else None
        end = _instant(query["end"]) if "end" in query else state.now_datetime()
        if ("start" in query and start is None) or end is None:
            raise bad_request("start and end must be ISO 8601 date-times")
        offset = _offset(query["nextToken"]) if "nextToken" in query else 0
        if offset is None:
            raise bad_request("Invalid nextToken")
        matching: list[tuple[datetime, dict[str, Any]]] = []
        for workout in state.activities("whoop", user.user_id).values():
            began, ended = _instant(workout.get("start")), _instant(workout.get("end"))
            if began is None or began >= end:
                continue
            if start is not None and (ended or began) < start:
                continue
            matching.append((began, workout))
        matching.sort(key=lambda item: item[0], reverse=True)
        records = [workout for _, workout in matching[offset : offset + limit]]
        answer: dict[str, Any] = {"records": records}
        if offset + limit < len(matching):
            answer["next_token"] = _next_token(offset + limit)
        return answer

    @app.get("/whoop/developer/v2/activity/workout/{workout_id}")
    async def whoop_workout_by_id(workout_id: str, request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("whoop", bearer_token(request))
        try:
            uuid.UUID(workout_id)
        except ValueError:
            raise bad_request("workoutId must be a UUID") from None
        workout = state.activities("whoop", user.user_id).get(workout_id)
        if workout is None:
            raise ProviderError(404, whoop.api_error(404, "not_found", "No resource found"))
        return workout
