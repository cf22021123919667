"""The two workout-push APIs Relay's export service calls, as the real ones answer them.

COROS Training Hub (header `accessToken` from its login; always HTTP 200, the outcome in `result`):
- `POST /coros-hub/activity/fit/import`, multipart `file`, `md5` (hex, of the file), `fileSize` (bytes),
  `timeZone` (IANA): `{"result": "0000", "data": {"importId", "status": "processing"}, "message"}`;
- `POST /coros-hub/activity/fit/getImportSportList`: the account's imports in `data`, newest first;
- `POST /coros-hub/activity/fit/deleteSportImport` `{"importId"}`.
Tokens: 1002 expired, 1003 unknown; files: 2001 invalid, 2002 too large; 2003 unknown importId.

Garmin Connect's workout service (`Authorization: Bearer`, Garmin's 401 otherwise; errors
`{"errorMessage"}`):
- `POST /garmin/workout-service/workout`: the workout as stored (`workoutId`, `ownerId`, `createdDate`,
  `updatedDate`, a `stepId` on every step), 400 for a document Connect would refuse;
- `GET`, `PUT` (204) and `DELETE` (204) `/garmin/workout-service/workout/{workoutId}`, 404 unless the
  token's owner has that workout;
- `POST /garmin/workout-service/schedule/{workoutId}` `{"date": "YYYY-MM-DD"}` and
  `DELETE /garmin/workout-service/schedule/{scheduleId}` (204)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from relay_testing.fakes.asgi import multipart_parts
from relay_testing.fakes.providers.dialects import DIALECTS, ProviderError
from relay_testing.fakes.providers.edge import bearer_token
from relay_testing.fakes.providers.garmin_workout_shape import workout_problem
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState

COROS_IMPORT_PATH = "/activity/fit/import"
COROS_IMPORT_LIST_PATH = "/activity/fit/getImportSportList"
COROS_IMPORT_DELETE_PATH = "/activity/fit/deleteSportImport"
GARMIN_WORKOUT_PATH = "/workout-service/workout"
GARMIN_SCHEDULE_PATH = "/workout-service/schedule"


def add_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    _add_coros_hub_routes(app, state)
    _add_garmin_routes(app, state, oauth)


def _add_coros_hub_routes(app: FastAPI, state: ProvidersState) -> None:
    def account_id(request: Request) -> str:
        return state.coros_hub.account_of(request.headers.get("accesstoken", "")).user_id

    @app.post(f"/coros-hub{COROS_IMPORT_PATH}")
    async def coros_hub_import(request: Request) -> dict[str, Any]:
        user_id = account_id(request)
        parts = multipart_parts(request.headers.get("content-type", ""), await request.body())
        return state.coros_imports.import_fit(user_id, parts, state.now_datetime())

    @app.post(f"/coros-hub{COROS_IMPORT_LIST_PATH}")
    async def coros_hub_imports(request: Request) -> dict[str, Any]:
        return state.coros_imports.import_list(account_id(request))

    @app.post(f"/coros-hub{COROS_IMPORT_DELETE_PATH}")
    async def coros_hub_delete_import(request: Request) -> dict[str, Any]:
        user_id = account_id(request)
        body = _json(await request.body())
        import_id = body.get("importId") if isinstance(body, dict) else None
        return state.coros_imports.delete(user_id, import_id)


def _add_garmin_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    garmin = DIALECTS["garmin"]
    workouts = state.garmin_workouts

    def owner(request: Request) -> str:
        return oauth.bearer("garmin", bearer_token(request))[1].user_id

    async def workout_document(request: Request) -> dict[str, Any]:
        document = _json(await request.body())
        problem = workout_problem(document)
        if problem is not None:
            raise garmin.api_failure(400, "bad_request", problem)
        assert isinstance(document, dict)
        return document

    def not_found(what: str) -> ProviderError:
        return garmin.api_failure(404, "not_found", f"{what} not found")

    @app.post(f"/garmin{GARMIN_WORKOUT_PATH}")
    async def garmin_create_workout(request: Request) -> dict[str, Any]:
        user_id = owner(request)
        return workouts.create(user_id, await workout_document(request), state.now_datetime())

    @app.get(f"/garmin{GARMIN_WORKOUT_PATH}s")
    async def garmin_workouts(request: Request, start: int = 0, limit: int = 20) -> list[dict[str, Any]]:
        return workouts.listed(owner(request), max(start, 0), min(max(limit, 1), 100))

    @app.get(f"/garmin{GARMIN_WORKOUT_PATH}/{{workout_id}}")
    async def garmin_workout(workout_id: str, request: Request) -> dict[str, Any]:
        stored = workouts.get(owner(request), _id(workout_id))
        if stored is None:
            raise not_found("Workout")
        return stored

    @app.put(f"/garmin{GARMIN_WORKOUT_PATH}/{{workout_id}}", status_code=204)
    async def garmin_replace_workout(workout_id: str, request: Request) -> Response:
        """The whole workout is replaced; a `workoutId` in the document must be the one in the path."""
        user_id = owner(request)
        document = await workout_document(request)
        if document.get("workoutId") not in (None, _id(workout_id)):
            raise garmin.api_failure(400, "bad_request", "workoutId does not match the path")
        if not workouts.replace(user_id, _id(workout_id), document, state.now_datetime()):
            raise not_found("Workout")
        return Response(status_code=204)

    @app.delete(f"/garmin{GARMIN_WORKOUT_PATH}/{{workout_id}}", status_code=204)
    async def garmin_delete_workout(workout_id: str, request: Request) -> Response:
        if not workouts.delete(owner(request), _id(workout_id)):
            raise not_found("Workout")
        return Response(status_code=204)

    @app.post(f"/garmin{GARMIN_SCHEDULE_PATH}/{{workout_id}}")
    async def garmin_schedule_workout(workout_id: str, request: Request) -> dict[str, Any]:
        user_id = owner(request)
        day = _calendar_date(_json(await request.body()))
        if day is None:
            raise garmin.api_failure(400, "bad_request", "date is required, as YYYY-MM-DD")
        scheduled = workouts.schedule(user_id, _id(workout_id), day, state.now_datetime())
        if scheduled is None:
            raise not_found("Workout")
        return scheduled

    @app.delete(f"/garmin{GARMIN_SCHEDULE_PATH}/{{schedule_id}}", status_code=204)
    async def garmin_unschedule_workout(schedule_id: str, request: Request) -> Response:
        if not workouts.unschedule(owner(request), _id(schedule_id)):
            raise not_found("Scheduled workout")
        return Response(status_code=204)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _calendar_date(body: Any) -> date | None:
    text = body.get("date") if isinstance(body, dict) else None
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _id(text: str) -> int:
    """Connect's ids are integers; any other path segment names nothing (-1 is no id Connect gives)."""
    return int(text) if text.isascii() and text.isdigit() else -1
