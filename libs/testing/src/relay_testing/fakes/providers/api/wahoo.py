"""Wahoo's Cloud API on the fake: workouts with their summaries, `GET /v1/workouts?page&per_page` (the
most recent first, 30 a page unless told, `{workouts, total, page, per_page, order, sort}`),
`GET /v1/workouts/{id}`, and the `workout_summary` webhook body that carries a summary and its workout.

Wahoo writes its decimals (metres, kcal, m/s, watts) as text, its times as ISO 8601 in UTC."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request

from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

_rng = random.Random()

_BIKING = {0, 11, 12, 13, 14, 15, 16, 21, 49, 61, 64, 68, 70}
_RUNNING = {1, 3, 4, 5, 19, 67, 71}


def wahoo_time(moment: datetime) -> str:
    """A time as Wahoo writes it: `2015-08-12T09:00:00.000Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def wahoo_workout(**overrides: Any) -> dict[str, Any]:
    """A workout as `GET /v1/workouts` lists it, with its `workout_summary`: an outdoor ride from an
    ELEMNT (workout_type_id 0) unless `overrides` say otherwise; runs get no power. `starts` may be
    given as a datetime. `summary` overrides fields of the summary (None there leaves the field out);
    `workout_summary=None` gives a workout Wahoo has no summary for yet. A workout does not name its
    athlete (the webhook does, see `wahoo_webhook`)."""
    workout_id = overrides.pop("id", _rng.randint(100_000_000, 999_999_999))
    summary_overrides: dict[str, Any] = overrides.pop("summary", {})
    type_id = overrides.get("workout_type_id", 0)
    starts = overrides.pop("starts", datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    starts = starts if isinstance(starts, datetime) else datetime.fromisoformat(str(starts))
    summary = _summary(type_id) | summary_overrides
    finished = starts + timedelta(seconds=float(summary.get("duration_total_accum") or 3600))
    workout: dict[str, Any] = {
        "id": workout_id,
        "starts": wahoo_time(starts),
        "minutes": round(float(summary.get("duration_total_accum") or 3600) / 60),
        "name": "Cycling" if type_id in _BIKING else "Running" if type_id in _RUNNING else "Workout",
        "plan_id": None,
        "workout_token": str(workout_id),
        "workout_type_id": type_id,
        "workout_summary": {k: v for k, v in summary.items() if v is not None}
        | {"created_at": wahoo_time(finished), "updated_at": wahoo_time(finished)},
        "created_at": wahoo_time(finished),
        "updated_at": wahoo_time(finished),
    }
    return workout | overrides


def wahoo_webhook(user_id: str | int, workout: dict[str, Any], *, webhook_token: str) -> dict[str, Any]:
    """The `workout_summary` webhook Wahoo sends when a workout's summary is saved: the summary, with
    the workout it belongs to inside it."""
    summary = dict(workout.get("workout_summary") or {})
    summary["workout"] = {k: v for k, v in workout.items() if k != "workout_summary"}
    return {
        "event_type": "workout_summary",
        "webhook_token": webhook_token,
        "user": {"id": int(user_id)},
        "workout_summary": summary,
    }


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    wahoo = DIALECTS["wahoo"]

    @app.get("/wahoo/v1/workouts")
    async def wahoo_workouts(request: Request) -> dict[str, Any]:
        """The token owner's workouts, the most recent first, one page of them."""
        _, user = oauth.bearer("wahoo", bearer_token(request))
        try:
            page = int(request.query_params.get("page", 1))
            per_page = int(request.query_params.get("per_page", DEFAULT_PER_PAGE))
        except ValueError:
            raise wahoo.api_failure(400, "invalid_request", "page and per_page are integers") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise wahoo.api_failure(400, "invalid_request", f"page >= 1 and per_page in 1..{MAX_PER_PAGE}")
        workouts = sorted(state.activities("wahoo", user.user_id).values(), key=_starts, reverse=True)
        return {
            "workouts": workouts[(page - 1) * per_page : page * per_page],
            "total": len(workouts),
            "page": page,
            "per_page": per_page,
            "order": "descending",
            "sort": "starts",
        }

    @app.get("/wahoo/v1/workouts/{workout_id}")
    async def wahoo_workout_by_id(workout_id: str, request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("wahoo", bearer_token(request))
        workout = state.activities("wahoo", user.user_id).get(workout_id)
        if workout is None:
            raise wahoo.api_failure(404, "not_found", "Workout not found")
        return workout


def _starts(workout: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(workout["starts"]).replace("Z", "+00:00"))


def _summary(type_id: int) -> dict[str, Any]:
    if type_id in _RUNNING:
        return {
            "id": _rng.randint(100_000_000, 999_999_999),
            "ascent_accum": "64.0",
            "cadence_avg": "86.0",
            "calories_accum": "702.0",
            "distance_accum": "10021.37",
            "duration_active_accum": "2987.0",
            "duration_paused_accum": "41.0",
            "duration_total_accum": "3028.0",
            "heart_rate_avg": "152.0",
            "power_avg": None,
            "power_bike_np_last": None,
            "power_bike_tss_last": None,
            "speed_avg": "3.36",
            "work_accum": None,
            "time_zone": "Europe/Paris",
            "manual": False,
            "edited": False,
            "file": {
                "url": "https://cdn.wahooligan.com/wahoo-cloud/production/uploads/workout_file/file/run.fit"
            },
        }
    return {
        "id": _rng.randint(100_000_000, 999_999_999),
        "ascent_accum": "612.0",
        "cadence_avg": "88.0",
        "calories_accum": "1204.0",
        "distance_accum": "61234.12",
        "duration_active_accum": "7012.0",
        "duration_paused_accum": "388.0",
        "duration_total_accum": "7400.0",
        "heart_rate_avg": "139.0",
        "power_avg": "201.45",
        "power_bike_np_last": "218.0",
        "power_bike_tss_last": "96.4",
        "speed_avg": "8.73",
        "work_accum": "1412567.0",
        "time_zone": "Europe/Paris",
        "manual": False,
        "edited": False,
        "file": {
            "url": "https://cdn.wahooligan.com/wahoo-cloud/production/uploads/workout_file/file/ride.fit"
        },
    }
