"""Storing activities: upserted by (provider, external id), changes and deletions from the provider
applied, the same workout from two providers merged (`dedup`), and every change announced with
`ingestion.activity.*` events keyed by the athlete, in the transaction that made it."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import dedup, repository
from ingestion.models import Activity, ProviderLink
from ingestion.providers.base import ActivityData
from relay_contracts.catalog import INGESTION_ACTIVITY_DELETED, INGESTION_ACTIVITY_UPSERTED
from relay_contracts.events.ingestion import ActivityDeleted, ActivityUpserted
from relay_platform.logging import get_logger
from relay_platform.outbox import add_event, add_events

log = get_logger(__name__)

DeletionReason = Literal["deleted_at_provider", "provider_data_erased"]
NEIGHBOURHOOD = dedup.MAX_START_DIFFERENCE + timedelta(minutes=5)
"""How close another provider's activity must start for a new one to be compared with it."""


@dataclass
class StoreCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: StoreCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


async def store_activities(
    session: AsyncSession, link: ProviderLink, activities: list[ActivityData], *, topic_prefix: str
) -> StoreCounts:
    """Upserts the link's activities (one statement for a whole page), then merges and announces those
    that are new or changed; an activity sent again unchanged changes nothing and announces nothing.
    Another account's activity (a public Strava activity read with this account's token, because a
    notification of this account named it) is not the link's athlete's to hold: it is left out."""
    accounts = (None, link.provider_user_id)
    if others := [a.external_id for a in activities if a.provider_user_id not in accounts]:
        log.warning(
            "activities_of_another_account_ignored",
            provider=link.provider,
            connection_id=link.connection_id,
            external_ids=others,
        )
    # A page may repeat an activity: the last one wins.
    unique = {a.external_id: a for a in activities if a.provider_user_id in accounts}
    rows = [
        {
            **dict(data),  # its fields as they are (the raw payload is stored, not copied)
            "utc_offset_seconds": local_offset(data),
            "provider_user_id": data.provider_user_id or link.provider_user_id,
            "user_id": link.user_id,
            "connection_id": link.connection_id,
        }
        for data in unique.values()
    ]
    stored = await repository.upsert_activities(session, rows)
    if stored:
        # The athlete's merge lock first: another worker storing another provider's copy of one of these
        # workouts waits, and then sees it.
        await repository.lock_activity_merges(session, link.user_id)
        starts = [activity.start_time for activity, _ in stored]
        neighbours = await repository.other_provider_starts(
            session, link.user_id, link.provider, min(starts) - NEIGHBOURHOOD, max(starts) + NEIGHBOURHOOD
        )
        for activity, created in stored:
            # A new activity with no other provider's activity starting near it has nothing to merge with
            # (most of a backfill); a changed one may have to be separated from its copies.
            if not created or _has_neighbour(neighbours, activity.start_time):
                await dedup.reconcile(session, activity, topic_prefix=topic_prefix)
        envelopes = [
            INGESTION_ACTIVITY_UPSERTED.envelope(upserted(activity, created), subject=activity.user_id)
            for activity, created in stored
        ]
        await add_events(session, envelopes, topic_prefix=topic_prefix)
    new = sum(1 for _, was_created in stored if was_created)
    return StoreCounts(created=new, updated=len(stored) - new, unchanged=len(unique) - len(stored))


def _has_neighbour(starts: list[datetime], start: datetime) -> bool:
    """Whether one of `starts` (sorted) is within `NEIGHBOURHOOD` of `start`."""
    i = bisect.bisect_left(starts, start - NEIGHBOURHOOD)
    return i < len(starts) and starts[i] <= start + NEIGHBOURHOOD


def local_offset(data: ActivityData) -> int | None:
    """The activity's offset from UTC at its start: the provider's, else its time zone's (activities are
    placed on the athlete's local day by it)."""
    if data.utc_offset_seconds is not None or not data.timezone:
        return data.utc_offset_seconds
    try:
        offset = data.start_time.astimezone(ZoneInfo(data.timezone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return int(offset.total_seconds()) if offset is not None else None


def upserted(activity: Activity, created: bool) -> ActivityUpserted:
    return ActivityUpserted(
        activity_id=str(activity.id),
        user_id=activity.user_id,
        provider=activity.provider,  # type: ignore[arg-type]
        external_id=activity.external_id,
        created=created,
        revision=activity.revision,
        sport=activity.sport,
        sub_sport=activity.sub_sport,
        sport_type=activity.sport_type,
        name=activity.name,
        start_time=activity.start_time,
        timezone=activity.timezone,
        utc_offset_seconds=activity.utc_offset_seconds,
        elapsed_time_s=activity.elapsed_time_s,
        moving_time_s=activity.moving_time_s,
        distance_m=activity.distance_m,
        elevation_gain_m=activity.elevation_gain_m,
        average_heartrate=activity.average_heartrate,
        max_heartrate=activity.max_heartrate,
        average_power_w=activity.average_power_w,
        normalized_power_w=activity.normalized_power_w,
        average_speed_mps=activity.average_speed_mps,
        calories=activity.calories,
        device_name=activity.device_name,
        is_manual=activity.is_manual,
        duplicate_of=str(activity.duplicate_of) if activity.duplicate_of else None,
    )


async def delete_activities(
    session: AsyncSession, activities: list[Activity], reason: DeletionReason, *, topic_prefix: str
) -> int:
    """Deletes the activities; a copy merged into one of them is shown again in its place."""
    now = datetime.now(UTC)
    for activity in activities:
        await dedup.promote_duplicates(session, activity, topic_prefix=topic_prefix)
        await repository.delete_activity(session, activity.id)
        deleted = ActivityDeleted(
            activity_id=str(activity.id),
            user_id=activity.user_id,
            provider=activity.provider,  # type: ignore[arg-type]
            external_id=activity.external_id,
            reason=reason,
            deleted_at=now,
        )
        await add_event(
            session,
            INGESTION_ACTIVITY_DELETED.envelope(deleted, subject=activity.user_id),
            topic_prefix=topic_prefix,
        )
    return len(activities)


async def delete_at_provider(
    session: AsyncSession, link: ProviderLink, external_ids: list[str], *, topic_prefix: str
) -> int:
    """The provider says these activities of the link's account were deleted (or are no longer visible
    to Relay). Only the link's athlete's are: a notification of one account deletes nothing of another's."""
    gone = await repository.activities_by_external_ids(session, link.user_id, link.provider, external_ids)
    return await delete_activities(session, gone, "deleted_at_provider", topic_prefix=topic_prefix)


async def erase_account_activities(
    session: AsyncSession, provider: str, provider_user_id: str, *, topic_prefix: str
) -> int:
    """The athlete disconnected an account whose terms ask for its data to be deleted (Strava's do)."""
    activities = await repository.activities_of_account(session, provider, provider_user_id)
    return await delete_activities(session, activities, "provider_data_erased", topic_prefix=topic_prefix)
