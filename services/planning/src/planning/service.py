"""Use cases of the planning service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import repository
from planning.matching import ActivityToMatch, SessionToMatch, match_activity
from planning.models import AthleteProfile, Program
from relay_contracts.catalog import PLANNING_SESSION_COMPLETED
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_contracts.events.ingestion import ActivityUpserted
from relay_contracts.events.planning import SessionCompleted
from relay_platform.logging import get_logger
from relay_platform.outbox import add_event, forget_published

log = get_logger(__name__)


async def record_profile(session: AsyncSession, profile: ProfileUpdated) -> bool:
    """Keeps the athlete's profile as identity last changed it; an update older than the stored one is
    ignored. Returns whether the stored profile changed."""
    return await repository.upsert_profile(
        session, AthleteProfile.model_validate(profile.model_dump(exclude={"actor"}))
    )


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


async def complete_from_activity(
    session: AsyncSession, activity: ActivityUpserted, *, topic_prefix: str = ""
) -> str | None:
    """Completes the planned session an ingested activity matches (same sport, same day or the next
    pending one beside it, similar duration) with its actual values; returns the session's id, if any.
    Another provider's copy of an activity already seen (`duplicate_of`) completes nothing."""
    if activity.duplicate_of is not None or activity.sport not in ("swim", "bike", "run"):
        return None
    # A backfill brings hundreds of activities in one transaction, mostly of the same athletes.
    known: dict[str, Program | None] = session.info.setdefault("active_programs", {})
    if activity.user_id not in known:
        known[activity.user_id] = await repository.active_program(session, activity.user_id)
    program = known[activity.user_id]
    if program is None:
        return None
    facts = ActivityToMatch.from_event(activity)
    nearby = await repository.sessions_between(
        session, program.id, facts.local_date - timedelta(days=1), facts.local_date + timedelta(days=1)
    )
    linked = next((row for row in nearby if row.activity_id == activity.activity_id), None)
    if linked is None:
        candidates = [
            SessionToMatch(
                session_id=row.id,
                scheduled_date=row.scheduled_date,
                sport=row.sport,  # type: ignore[arg-type]
                duration_minutes=row.duration_planned,
                status=row.status,  # type: ignore[arg-type]
                session_type=row.session_type,  # type: ignore[arg-type]
                distance_m=row.distance_planned,
                activity_id=row.activity_id,
            )
            for row in nearby
        ]
        match = match_activity(facts, candidates)
        if match is None:
            return None
        linked = next(row for row in nearby if row.id == match.session_id)
        log.info(
            "activity_matched", session_id=linked.id, activity_id=activity.activity_id, why=match.explanation
        )
    first_time = linked.status != "completed"
    now = datetime.now(UTC)
    linked.status = "completed"
    linked.completed_at = linked.completed_at or now
    linked.activity_id = activity.activity_id
    linked.actual_duration = round(facts.moving_time_s / 60) or None
    linked.actual_distance = activity.distance_m
    linked.actual_avg_hr = round(activity.average_heartrate) if activity.average_heartrate else None
    linked.updated_at = now
    session.add(linked)
    if first_time:
        await add_event(
            session,
            PLANNING_SESSION_COMPLETED.envelope(
                SessionCompleted(
                    session_id=linked.id,
                    program_id=linked.program_id,
                    user_id=activity.user_id,
                    scheduled_date=linked.scheduled_date,
                    completed_at=linked.completed_at,
                    actual_duration_minutes=linked.actual_duration,
                    actual_distance_m=linked.actual_distance,
                    activity_id=activity.activity_id,
                    actor=Actor(type="system"),
                ),
                subject=activity.user_id,
            ),
            topic_prefix=topic_prefix,
        )
    return linked.id
