"""Use cases of the export service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from export import repository
from export.models import AthleteProfile
from relay_contracts.events.identity import ProfileUpdated, UserDeleted
from relay_platform.logging import get_logger
from relay_platform.outbox import forget_published

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
