"""Use cases of the export service: the plan's sessions kept as planning describes them, workouts for the
athlete to download, and exports asked for, kept in step with the plan and the athlete's thresholds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from export import repository
from export.models import AthleteProfile, ExportSettings, PlannedSession, WorkoutExport
from export.targets import device_workout
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_contracts.events.planning import SessionChanged, SessionCompleted, SessionScheduled
from relay_contracts.workouts import StructuredWorkout, WorkoutThresholds
from relay_platform.errors import Conflict, NotFound
from relay_platform.logging import get_logger
from relay_platform.outbox import forget_published
from relay_platform.telemetry import current_traceparent

log = get_logger(__name__)

PROVIDERS = ("garmin", "coros_training_hub")
"""Where workouts can be pushed (connections' providers that take workouts)."""


def new_export_id() -> str:
    return f"exp_{uuid.uuid4().hex[:20]}"


async def record_profile(session: AsyncSession, profile: ProfileUpdated, now: datetime) -> bool:
    """Keeps the athlete's profile as identity last changed it (an older update is ignored) and queues
    again every upcoming pushed workout whose targets it changes. Returns whether the profile changed."""
    stored = await repository.upsert_profile(
        session, AthleteProfile.model_validate(profile.model_dump(exclude={"actor"}))
    )
    if stored:
        await _requeue_retargeted(session, profile.user_id, now)
    return stored


async def _requeue_retargeted(session: AsyncSession, user_id: str, now: datetime) -> None:
    profile = await repository.get_profile(session, user_id)
    requeued = 0
    for export, planned in await repository.exported_since(session, user_id, now.date()):
        if export.pushed_thresholds is None:
            continue
        _, thresholds = device_workout(planned, profile)
        if thresholds != WorkoutThresholds.model_validate(export.pushed_thresholds):
            _queue(export, "push", now)
            session.add(export)
            requeued += 1
    if requeued:
        log.info("exports_retargeted", user_id=user_id, exports=requeued)


async def record_scheduled(
    session: AsyncSession, event: SessionScheduled, planned_at: datetime, now: datetime, days: int
) -> None:
    """Keeps the session; an athlete who exports automatically gets it pushed when it is near."""
    await repository.upsert_planned_session(
        session,
        PlannedSession(
            session_id=event.session_id,
            user_id=event.user_id,
            program_id=event.program_id,
            scheduled_date=event.scheduled_date,
            sport=event.sport,
            session_type=event.session_type,
            title=event.title,
            duration_minutes=event.duration_minutes,
            workout=event.workout.model_dump(mode="json"),
            thresholds=event.thresholds.model_dump(mode="json") if event.thresholds else None,
            planned_at=planned_at,
        ),
    )
    await queue_upcoming(session, now, now.date(), days, user_id=event.user_id)


async def record_changed(session: AsyncSession, event: SessionChanged, planned_at: datetime) -> None:
    """Keeps the session as changed and queues its pushed workouts again: updated (or replaced where the
    provider cannot update), or removed from the provider when the session left the plan."""
    planned = await repository.get_planned_session(session, event.session_id)
    exports = await repository.exports_of_session(session, event.session_id)
    if event.removed:
        await repository.delete_planned_session(session, event.session_id)
        for export in exports:
            if export.provider_workout_id is None and export.status != "sending":
                await session.delete(export)  # nothing on the provider to remove
            else:
                _queue(export, "remove", planned_at)
                session.add(export)
        return
    if planned is None or event.workout is None:
        log.warning("changed_session_unknown", session_id=event.session_id)
        return
    planned.scheduled_date = event.scheduled_date
    planned.session_type = event.session_type or planned.session_type
    planned.title = event.title or planned.title
    planned.duration_minutes = event.duration_minutes or planned.duration_minutes
    planned.workout = event.workout.model_dump(mode="json")
    planned.thresholds = event.thresholds.model_dump(mode="json") if event.thresholds else None
    planned.planned_at = planned_at
    session.add(planned)
    for export in exports:
        if export.action == "push" and export.status != "failed":
            _queue(export, "push", planned_at)
            session.add(export)


def _queue(export: WorkoutExport, action: str, now: datetime) -> None:
    export.action = action
    export.status = "queued"
    export.attempts = 0
    export.next_attempt_at = now
    export.failure_reason = None
    export.last_error = None
    export.updated_at = now
    export.traceparent = current_traceparent()


async def workout_for_device(
    session: AsyncSession, user_id: str, session_id: str
) -> tuple[PlannedSession, StructuredWorkout, WorkoutThresholds]:
    """The session's workout with the targets the athlete's thresholds give today; 404 for a session that
    is not the athlete's, as for one that does not exist."""
    planned = await repository.get_planned_session(session, session_id)
    if planned is None or planned.user_id != user_id:
        raise NotFound("Session not found", details={"session_id": session_id})
    workout, thresholds = device_workout(planned, await repository.get_profile(session, user_id))
    return planned, workout, thresholds


async def request_export(
    session: AsyncSession, user_id: str, session_id: str, provider: str, key: str | None, now: datetime
) -> tuple[WorkoutExport, bool]:
    """The session's export to the provider, queued unless it is already on its way; returns it and
    whether this request queued it. A request repeated with its idempotency key gets the same export;
    a key already used for another session or provider is a conflict."""
    if key is not None:
        known = await repository.export_by_key(session, user_id, key)
        if known is not None:
            if (known.session_id, known.provider) != (session_id, provider):
                raise Conflict(
                    "This idempotency key was used for another export", details={"export_id": known.id}
                )
            return known, False
    planned = await repository.get_planned_session(session, session_id)
    if planned is None or planned.user_id != user_id:
        raise NotFound("Session not found", details={"session_id": session_id})
    export = await repository.export_of(session, session_id, provider, for_update=True)
    if export is None:
        export = _new_export(planned, provider, now)
    elif export.status in ("queued", "sending") and export.action == "push":
        return export, False
    else:
        _queue(export, "push", now)
    export.idempotency_key = key or export.idempotency_key
    session.add(export)
    log.info(
        "export_requested", user_id=user_id, session_id=session_id, provider=provider, export_id=export.id
    )
    return export, True


def _new_export(planned: PlannedSession, provider: str, now: datetime) -> WorkoutExport:
    return WorkoutExport(
        id=new_export_id(),
        user_id=planned.user_id,
        session_id=planned.session_id,
        provider=provider,
        action="push",
        status="queued",
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        traceparent=current_traceparent(),
    )


async def update_settings(
    session: AsyncSession, user_id: str, auto_export: Sequence[str], now: datetime, days: int
) -> ExportSettings:
    """The athlete's auto-export providers; the sessions of the coming days are queued at once."""
    settings = await repository.get_settings(session, user_id) or ExportSettings(
        user_id=user_id, updated_at=now
    )
    settings.auto_export = sorted(set(auto_export))
    settings.updated_at = now
    session.add(settings)
    await session.flush()
    await queue_upcoming(session, now, now.date(), days, user_id=user_id)
    return settings


async def queue_upcoming(
    session: AsyncSession, now: datetime, today: date, days: int, *, user_id: str | None = None
) -> int:
    """Queues the sessions of the next `days` days of athletes who export automatically."""
    sessions = await repository.sessions_to_auto_export(
        session, today, today + timedelta(days=days - 1), user_id
    )
    return await _queue_missing(session, sessions, now)


async def queue_next_day(session: AsyncSession, completed: SessionCompleted, now: datetime) -> int:
    """The next workouts follow a completed one onto the watch: for an athlete who exports automatically,
    the sessions of the next training day after it (from today on) are queued, even beyond the
    auto-export window."""
    after = max(completed.scheduled_date, now.date() - timedelta(days=1))
    sessions = await repository.next_day_to_auto_export(session, completed.user_id, after)
    queued = await _queue_missing(session, sessions, now)
    if queued:
        log.info("next_day_queued", user_id=completed.user_id, after=completed.session_id, exports=queued)
    return queued


async def _queue_missing(
    session: AsyncSession, sessions: Sequence[tuple[PlannedSession, list[str]]], now: datetime
) -> int:
    """Queues each session once per auto-export provider (an export already there, whatever became of it,
    is left as it is); returns how many were queued."""
    queued = 0
    for planned, providers in sessions:
        for provider in providers:
            if await repository.export_of(session, planned.session_id, provider) is None:
                session.add(_new_export(planned, provider, now))
                queued += 1
    if queued:
        await session.flush()
    return queued


def erased_subjects(deleted: UserDeleted) -> list[str]:
    """The event keys under which the athlete's events were published."""
    subjects = [deleted.user_id]
    if deleted.strava_athlete_id:
        subjects.append(f"strava:{deleted.strava_athlete_id}")
    return subjects


async def erase_athlete(session: AsyncSession, deleted: UserDeleted) -> None:
    """Deletes everything this service holds about an athlete who deleted their account, and the
    already relayed events about them."""
    await repository.delete_athlete_rows(session, deleted.user_id)
    await forget_published(session, erased_subjects(deleted))
    log.info("athlete_erased", user_id=deleted.user_id)
