"""Seed 001, section Admin: `GET /api/admin/audit-logs`, the trail for operators (read_only role and
above; every read is itself audited), and `GET /api/audit-trail`, the athlete's own trail to download."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from audit import repository, service
from audit.schemas import AthleteTrail, AuditLogList, AuditLogOut, Pagination
from relay_contracts.catalog import AUDIT_ADMIN_DATA_ACCESSED
from relay_platform.admin_access import record_admin_access
from relay_platform.auth import CurrentAthlete, ReadOnlyAdmin
from relay_platform.db import SessionDep
from relay_platform.errors import InvalidInput
from relay_platform.web import TopicPrefix

router = APIRouter(tags=["audit trail"])


@router.get("/api/admin/audit-logs", summary="The audit trail, newest first, filtered")
async def audit_logs(
    request: Request,
    admin: ReadOnlyAdmin,
    session: SessionDep,
    topic_prefix: TopicPrefix,
    event_type: Annotated[
        str | None, Query(max_length=100, description="e.g. `planning.program.generated`")
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=100, description="e.g. `program`")] = None,
    actor_type: Annotated[str | None, Query(max_length=20, description="athlete, admin or system")] = None,
    since: Annotated[
        datetime | None, Query(description="Events that happened at or after this time.")
    ] = None,
    until: Annotated[datetime | None, Query(description="Events that happened before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditLogList:
    since, until = _aware(since, "since"), _aware(until, "until")
    if since and until and since >= until:
        raise InvalidInput(
            "since must come before until", details={"field": "until", "reason": "before_since"}
        )
    filters = repository.EntryFilters(event_type, entity_type, actor_type, since, until)
    total, entries = await repository.search_entries(session, filters, limit=limit, offset=offset)
    await record_admin_access(
        session, AUDIT_ADMIN_DATA_ACCESSED, admin, request, records=len(entries), topic_prefix=topic_prefix
    )
    return AuditLogList(
        logs=[AuditLogOut.of(entry) for entry in entries],
        pagination=Pagination(total=total, limit=limit, offset=offset),
    )


@router.get(
    "/api/audit-trail",
    summary="Download everything Relay recorded about me",
    response_model=AthleteTrail,
    responses={200: {"description": "A JSON file (`Content-Disposition: attachment`)."}},
)
async def my_trail(athlete: CurrentAthlete, session: SessionDep) -> JSONResponse:
    now = datetime.now(UTC)
    entries = await service.athlete_trail(session, athlete.sub, athlete.strava_id)
    trail = AthleteTrail(
        athlete_id=athlete.sub, generated_at=now, entries=[AuditLogOut.of(entry) for entry in entries]
    )
    filename = f"relay-audit-trail-{now:%Y%m%d}.json"
    return JSONResponse(
        trail.model_dump(mode="json"), headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(
            f"{field} must carry a timezone (e.g. 2025-03-12T10:30:00Z)",
            details={"field": field, "reason": "timezone_missing"},
        )
    return value
