"""Polar AccessLink's exercises on the fake: `GET /polar/v3/exercises` and `GET /polar/v3/exercises/{id}`,
for the token's owner once registered with the client, serving the exercises a test stored
(`put_activity("polar", user_id, exercise_id, payload)`) that were uploaded in the last 30 days, as
AccessLink does. Errors come in AccessLink's error schema.

Payloads for tests: `polar_exercise(...)` (an exercise as AccessLink writes it) and
`polar_exercise_event(...)` (the `EXERCISE` webhook AccessLink posts)."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

POLAR_API_URL = "https://www.polaraccesslink.com"
AVAILABLE_DAYS = 30
"""AccessLink serves the exercises uploaded to Flow in the last 30 days only."""

_ID_ALPHABET = string.ascii_letters + string.digits


def utc_text(moment: datetime) -> str:
    """An instant as AccessLink writes `upload_time`: `2008-10-13T10:40:02.000Z`."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def iso_duration(seconds: float) -> str:
    """A duration as AccessLink writes it: `PT1H2M3.5S`."""
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    if rest or text == "PT":
        text += f"{rest:g}S"
    return text


def new_exercise_id() -> str:
    """A hashed exercise id such as AccessLink's `aQlC83`."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def polar_exercise(
    *,
    start: datetime | None = None,
    utc_offset_minutes: int = 120,
    duration_s: float = 3723.5,
    polar_user_id: str | int = 10091,
    **overrides: Any,
) -> dict[str, Any]:
    """An exercise as `GET /v3/exercises/{id}` answers it: a run with a heart-rate sensor and GPS,
    started at `start` (timezone-aware; a day ago when None) in a zone `utc_offset_minutes` east of UTC,
    uploaded a few minutes after it ended. `overrides` replace or add top-level fields (`id`, `sport`,
    `detailed_sport_info`, `distance`, ...)."""
    start = (start or datetime.now(UTC) - timedelta(days=1)).astimezone(UTC)
    local_start = start + timedelta(minutes=utc_offset_minutes)
    uploaded = start + timedelta(seconds=duration_s, minutes=4)
    return {
        "id": new_exercise_id(),
        "upload_time": utc_text(uploaded),
        "polar_user": f"{POLAR_API_URL}/v3/users/{polar_user_id}",
        "device": "Polar Vantage V3",
        "device_id": "B3F15A2C",
        "start_time": f"{local_start:%Y-%m-%dT%H:%M:%S}",
        "start_time_utc_offset": utc_offset_minutes,
        "duration": iso_duration(duration_s),
        "calories": 742,
        "distance": 12034.5,
        "heart_rate": {"average": 148, "maximum": 176},
        "training_load": 121.4,
        "sport": "RUNNING",
        "has_route": True,
        "detailed_sport_info": "RUNNING",
        "fat_percentage": 38,
        "carbohydrate_percentage": 59,
        "protein_percentage": 3,
        "running-index": 54,
        "training_load_pro": {
            "date": f"{local_start:%Y-%m-%d}",
            "cardio-load": 121.4,
            "muscle-load": 38.2,
            "perceived-load": 96.0,
            "cardio-load-interpretation": "MEDIUM",
            "muscle-load-interpretation": "LOW",
            "perceived-load-interpretation": "MEDIUM",
            "user-rpe": "HARD",
        },
        **overrides,
    }


def polar_exercise_event(
    user_id: str | int, exercise_id: str, url: str = POLAR_API_URL, *, timestamp: datetime | None = None
) -> dict[str, Any]:
    """The `EXERCISE` webhook AccessLink posts when a new exercise is available; `url` is where AccessLink
    is served (the fake's `urls("polar")["api_url"]` in tests), under which the event points at the
    exercise."""
    moment = (timestamp or datetime.now(UTC)).astimezone(UTC)
    return {
        "event": "EXERCISE",
        "user_id": int(user_id),
        "entity_id": exercise_id,
        "timestamp": f"{moment:%Y-%m-%dT%H:%M:%S}Z",
        "url": f"{url.rstrip('/')}/v3/exercises/{exercise_id}",
    }


def _uploaded_since(exercise: dict[str, Any], since: datetime) -> bool:
    upload_time = exercise.get("upload_time")
    if not isinstance(upload_time, str):
        return True
    try:
        uploaded = datetime.fromisoformat(upload_time)
    except ValueError:
        return True
    return (uploaded if uploaded.tzinfo else uploaded.replace(tzinfo=UTC)) >= since


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    """AccessLink's exercise endpoints under `/polar`."""
    polar = DIALECTS["polar"]

    def registered_user(request: Request) -> str:
        _, user = oauth.bearer("polar", bearer_token(request))
        if user.user_id not in state.polar_registrations:
            raise polar.api_failure(403, "forbidden", "User is not registered to partner")
        return user.user_id

    def available(user_id: str) -> dict[str, dict[str, Any]]:
        since = state.now_datetime() - timedelta(days=AVAILABLE_DAYS)
        exercises = state.activities("polar", user_id)
        return {key: exercise for key, exercise in exercises.items() if _uploaded_since(exercise, since)}

    @app.get("/polar/v3/exercises")
    async def polar_exercises(request: Request) -> list[dict[str, Any]]:
        """The user's exercises uploaded in the last 30 days, oldest upload first."""
        return list(available(registered_user(request)).values())

    @app.get("/polar/v3/exercises/{exercise_id}")
    async def polar_exercise_by_id(exercise_id: str, request: Request) -> dict[str, Any]:
        exercise = available(registered_user(request)).get(exercise_id)
        if exercise is None:
            raise polar.api_failure(404, "not_found", "Exercise not found")
        return exercise
