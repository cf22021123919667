"""The export API: a session's workout as a FIT file or Garmin Connect JSON, exports to devices and the
athlete's auto-export choice. Every route is the athlete's own: another athlete's session is a 404."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from export import repository, service
from export.config import Settings
from export.fit import FitRangeError, InvalidFitFile, check_fit, encode_fit
from export.garmin_json import garmin_workout
from export.schemas import ExportList, ExportOut, ExportRequest, ExportSettingsIn, ExportSettingsOut
from relay_platform.auth import CurrentAthlete
from relay_platform.db import SessionDep
from relay_platform.errors import Conflict, NotFound

router = APIRouter(tags=["export"])

SessionId = Annotated[str, Path(min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Repeating a request with the same key returns the same export, never a second one.",
    ),
]
FIT_MEDIA_TYPE = "application/vnd.ant.fit"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


@router.get(
    "/api/sessions/{session_id}/workout.fit",
    summary="The session's workout as a FIT workout file",
    response_class=Response,
    responses={200: {"content": {FIT_MEDIA_TYPE: {}}}},
)
async def download_fit(session_id: SessionId, athlete: CurrentAthlete, session: SessionDep) -> Response:
    planned, workout, _ = await service.workout_for_device(session, athlete.sub, session_id)
    try:
        data = encode_fit(workout, created_at=datetime.now(UTC))
        check_fit(data)
    except (FitRangeError, InvalidFitFile) as error:
        raise Conflict(
            "This workout cannot be written as a FIT file",
            code="workout_not_encodable",
            details={"reason": str(error)},
        ) from error
    return Response(
        data, media_type=FIT_MEDIA_TYPE, headers=_attachment(planned.scheduled_date.isoformat(), "fit")
    )


@router.get(
    "/api/sessions/{session_id}/workout.json",
    summary="The session's workout as Garmin Connect workout JSON",
)
async def download_garmin_json(
    session_id: SessionId, athlete: CurrentAthlete, session: SessionDep
) -> JSONResponse:
    planned, workout, _ = await service.workout_for_device(session, athlete.sub, session_id)
    document = garmin_workout(workout, description=planned.title)
    return JSONResponse(document, headers=_attachment(planned.scheduled_date.isoformat(), "json"))


def _attachment(day: str, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="relay-workout-{day}.{extension}"'}


@router.post(
    "/api/sessions/{session_id}/export",
    summary="Push the session's workout to Garmin or COROS",
    response_model=ExportOut,
    status_code=202,
)
async def export_session(
    session_id: SessionId,
    body: ExportRequest,
    athlete: CurrentAthlete,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Queues the export (202); an export already on its way, or asked with the same idempotency key, is
    answered as it is (200). Follow it with `GET /api/exports/{id}`."""
    export, queued = await service.request_export(
        session, athlete.sub, session_id, body.provider, idempotency_key, datetime.now(UTC)
    )
    await session.flush()
    content = json.loads(ExportOut.of(export).model_dump_json())
    return JSONResponse(content, status_code=202 if queued else 200)


@router.get("/api/exports", summary="The athlete's exports, newest first", response_model=ExportList)
async def list_exports(
    athlete: CurrentAthlete,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(queued|sending|exported|failed|removed)$")] = None,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ExportList:
    exports, total = await repository.list_exports(
        session, athlete.sub, status=status, session_id=session_id, limit=limit, offset=offset
    )
    return ExportList(exports=[ExportOut.of(e) for e in exports], total=total, limit=limit, offset=offset)


@router.get(
    "/api/exports/settings", summary="The athlete's auto-export choice", response_model=ExportSettingsOut
)
async def get_settings(request: Request, athlete: CurrentAthlete, session: SessionDep) -> ExportSettingsOut:
    settings = await repository.get_settings(session, athlete.sub)
    return ExportSettingsOut(
        auto_export=settings.auto_export if settings else [],
        days_ahead=_settings(request).auto_export_days,
        updated_at=settings.updated_at if settings else None,
    )


@router.put(
    "/api/exports/settings", summary="Choose where the next days are pushed", response_model=ExportSettingsOut
)
async def put_settings(
    request: Request, body: ExportSettingsIn, athlete: CurrentAthlete, session: SessionDep
) -> ExportSettingsOut:
    """The sessions of the coming days are queued at once for the providers chosen."""
    days = _settings(request).auto_export_days
    settings = await service.update_settings(session, athlete.sub, body.auto_export, datetime.now(UTC), days)
    return ExportSettingsOut(
        auto_export=settings.auto_export, days_ahead=days, updated_at=settings.updated_at
    )


@router.get("/api/exports/{export_id}", summary="One export and where it stands", response_model=ExportOut)
async def get_export(
    export_id: Annotated[str, Path(max_length=64)], athlete: CurrentAthlete, session: SessionDep
) -> ExportOut:
    export = await repository.get_export(session, export_id)
    if export is None or export.user_id != athlete.sub:
        raise NotFound("Export not found", details={"export_id": export_id})
    return ExportOut.of(export)
