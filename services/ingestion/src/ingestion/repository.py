"""Every query of the ingestion service."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal_column, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased, defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.models import (
    Activity,
    ActivityMerge,
    ApiKey,
    BridgeUpload,
    ProviderLink,
    ProviderNotification,
    SyncRun,
)


async def insert_notifications(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Stores the notifications (`id`s chosen by the caller) except those already stored (the same
    fingerprint, also twice in `rows`); returns the ids of those stored. The database's clock stamps
    their arrival and makes them due at once."""
    if not rows:
        return set()
    table = ProviderNotification.__table__  # type: ignore[attr-defined]
    # One statement of many VALUES, compiled once whatever the number of rows.
    statement = (
        insert(table)
        .on_conflict_do_nothing(constraint="uq_provider_notifications_fingerprint")
        .returning(table.c.id)
    )
    return set((await session.exec(statement, params=rows)).scalars())  # type: ignore[call-overload]


async def insert_api_key(session: AsyncSession, key: ApiKey) -> None:
    """Stores a key unless it is already known (a replayed `identity.api_key.created`)."""
    statement = insert(ApiKey).values(**key.model_dump()).on_conflict_do_nothing()
    await session.exec(statement)  # type: ignore[call-overload]


async def revoke_api_key(session: AsyncSession, api_key_id: str, user_id: str, at: datetime) -> bool:
    """Marks the key revoked (the first revocation stands); returns whether the key is known."""
    statement = (
        update(ApiKey)
        .where(col(ApiKey.api_key_id) == api_key_id, col(ApiKey.user_id) == user_id)
        .values(revoked_at=func.coalesce(col(ApiKey.revoked_at), at))
        .returning(col(ApiKey.api_key_id))
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def get_api_key_by_digest(session: AsyncSession, key_sha256: str) -> ApiKey | None:
    return (await session.exec(select(ApiKey).where(ApiKey.key_sha256 == key_sha256))).first()


async def claim_use_report(session: AsyncSession, api_key_id: str, at: datetime, interval: timedelta) -> bool:
    """Records a use of the key at `at` and claims the right to report it, which is granted when the
    last report is older than `interval`. A concurrent request waits for this row and then sees the
    new report time, so two requests never both report within the interval."""
    claimed = (
        await session.exec(
            update(ApiKey)  # type: ignore[call-overload]
            .where(
                col(ApiKey.api_key_id) == api_key_id,
                or_(
                    col(ApiKey.last_use_reported_at).is_(None),
                    col(ApiKey.last_use_reported_at) <= at - interval,
                ),
            )
            .values(last_used_at=func.greatest(col(ApiKey.last_used_at), at), last_use_reported_at=at)
            .returning(col(ApiKey.api_key_id))
        )
    ).first()
    if claimed is not None:
        return True
    await session.exec(
        update(ApiKey)  # type: ignore[call-overload]
        .where(col(ApiKey.api_key_id) == api_key_id)
        .values(last_used_at=func.greatest(col(ApiKey.last_used_at), at))
    )
    return False


async def insert_bridge_upload(session: AsyncSession, upload: BridgeUpload) -> uuid.UUID:
    """Stores the upload unless the athlete already sent the same one; returns the stored upload's id
    (the existing one for a redelivery)."""
    values: dict[str, Any] = upload.model_dump(exclude={"received_at"})
    inserted = (
        await session.exec(
            insert(BridgeUpload)  # type: ignore[call-overload]
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_bridge_uploads_fingerprint")
            .returning(col(BridgeUpload.id))
        )
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted  # type: ignore[no-any-return]
    existing = (
        await session.exec(
            select(BridgeUpload.id).where(
                BridgeUpload.user_id == upload.user_id, BridgeUpload.fingerprint == upload.fingerprint
            )
        )
    ).one()
    return existing


async def delete_athlete_rows(session: AsyncSession, user_id: str, strava_athlete_id: str | None) -> None:
    """Deletes every row of this database about the athlete: their API keys, their bridge uploads and,
    when they had a Strava account, the notifications Strava sent about it."""
    await session.exec(delete(BridgeUpload).where(col(BridgeUpload.user_id) == user_id))  # type: ignore[call-overload]
    await session.exec(delete(ApiKey).where(col(ApiKey.user_id) == user_id))  # type: ignore[call-overload]
    if strava_athlete_id is not None:
        await session.exec(
            delete(ProviderNotification).where(  # type: ignore[call-overload]
                col(ProviderNotification.provider) == "strava",
                col(ProviderNotification.owner_id) == strava_athlete_id,
            )
        )


async def delete_provider_account_rows(
    session: AsyncSession, user_id: str, provider: str, provider_user_id: str
) -> None:
    """Deletes what one provider account sent: its notifications (and, for the health bridge, the
    athlete's uploads)."""
    await session.exec(
        delete(ProviderNotification).where(  # type: ignore[call-overload]
            col(ProviderNotification.provider) == provider,
            col(ProviderNotification.owner_id) == provider_user_id,
        )
    )
    if provider == "health_bridge":
        await session.exec(delete(BridgeUpload).where(col(BridgeUpload.user_id) == user_id))  # type: ignore[call-overload]


# -- Provider links, the work queue, sync runs and stored activities --------------------------------


async def upsert_link(session: AsyncSession, link: ProviderLink) -> None:
    """Records the athlete's link; a link of the same provider account to an older connection (linked
    again, or by another athlete after a disconnection) is replaced."""
    await session.exec(
        delete(ProviderLink).where(  # type: ignore[call-overload]
            col(ProviderLink.provider) == link.provider,
            col(ProviderLink.provider_user_id) == link.provider_user_id,
            col(ProviderLink.connection_id) != link.connection_id,
        )
    )
    values = link.model_dump()
    statement = (
        insert(ProviderLink)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[ProviderLink.connection_id],
            set_={k: v for k, v in values.items() if k not in ("connection_id", "last_polled_at")},
        )
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def get_link(session: AsyncSession, connection_id: str) -> ProviderLink | None:
    return await session.get(ProviderLink, connection_id)


async def link_of_account(session: AsyncSession, provider: str, provider_user_id: str) -> ProviderLink | None:
    statement = select(ProviderLink).where(
        col(ProviderLink.provider) == provider, col(ProviderLink.provider_user_id) == provider_user_id
    )
    return (await session.exec(statement)).first()


async def links_of_athlete(
    session: AsyncSession, user_id: str, provider: str | None = None
) -> list[ProviderLink]:
    statement = select(ProviderLink).where(col(ProviderLink.user_id) == user_id)
    if provider is not None:
        statement = statement.where(col(ProviderLink.provider) == provider)
    return list((await session.exec(statement)).all())


async def delete_link(session: AsyncSession, connection_id: str) -> None:
    await session.exec(delete(ProviderLink).where(col(ProviderLink.connection_id) == connection_id))  # type: ignore[call-overload]


async def links_due_for_poll(
    session: AsyncSession, providers: list[str], polled_before: datetime, limit: int
) -> list[ProviderLink]:
    """Active links of polled providers not polled since `polled_before`, locked for this poll."""
    statement = (
        select(ProviderLink)
        .where(
            col(ProviderLink.provider).in_(providers),
            col(ProviderLink.status) == "active",
            col(ProviderLink.is_active),
            or_(col(ProviderLink.last_polled_at).is_(None), col(ProviderLink.last_polled_at) < polled_before),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(statement)).all())


async def claim_due_notifications(
    session: AsyncSession, limit: int, lease: timedelta
) -> list[ProviderNotification]:
    """Pending notifications whose time has come, oldest first, leased to the caller: another worker
    takes them over if this one dies before finishing them."""
    due = (
        select(col(ProviderNotification.id))
        .where(
            col(ProviderNotification.status) == "pending",
            col(ProviderNotification.next_attempt_at) <= func.now(),
        )
        .order_by(col(ProviderNotification.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(ProviderNotification)
        .where(col(ProviderNotification.id).in_(due.scalar_subquery()))
        .values(next_attempt_at=func.now() + lease, attempts=col(ProviderNotification.attempts) + 1)
        .returning(ProviderNotification)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.exec(statement)).scalars().all()  # type: ignore[call-overload]
    return sorted(rows, key=lambda row: row.next_attempt_at)


NO_ACTIVE_LINK = "no active link to this account"


async def ignore_unreadable_notifications(session: AsyncSession, limit: int) -> list[str]:
    """Settles, in one statement, due notifications there is nothing to read for: about an athlete
    (deauthorizations and profile changes, which the connections service acts on), or of an account
    no active link is known for. Returns the provider of each. The bridge's are left to the worker:
    their owner is the athlete, not an account."""
    active_link = (
        sa_select(literal_column("1"))
        .where(
            col(ProviderLink.provider) == col(ProviderNotification.provider),
            col(ProviderLink.provider_user_id) == col(ProviderNotification.owner_id),
            col(ProviderLink.status) == "active",
            col(ProviderLink.is_active),
        )
        .exists()
    )
    due = (
        select(col(ProviderNotification.id))
        .where(
            col(ProviderNotification.status) == "pending",
            col(ProviderNotification.next_attempt_at) <= func.now(),
            col(ProviderNotification.provider) != "health_bridge",
            or_(col(ProviderNotification.object_type) == "athlete", ~active_link),
        )
        .order_by(col(ProviderNotification.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True, of=ProviderNotification)  # type: ignore[arg-type]
    )
    statement = (
        update(ProviderNotification)
        .where(col(ProviderNotification.id).in_(due.scalar_subquery()))
        .values(
            status="ignored",
            processed_at=func.now(),
            last_error=case((col(ProviderNotification.object_type) == "athlete", None), else_=NO_ACTIVE_LINK),
        )
        .returning(col(ProviderNotification.provider))
        .execution_options(synchronize_session=False)
    )
    return list((await session.exec(statement)).scalars())  # type: ignore[call-overload]


async def settle_notification(
    session: AsyncSession,
    notification_id: uuid.UUID,
    status: str,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
    count_attempt: bool = True,
) -> None:
    """Records how processing ended: `pending` with `retry_at` to try again, else for good."""
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == "pending":
        values["next_attempt_at"] = retry_at
        if not count_attempt:
            values["attempts"] = col(ProviderNotification.attempts) - 1
    else:
        values["processed_at"] = func.now()
    statement = (
        update(ProviderNotification)
        .where(col(ProviderNotification.id) == notification_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def pending_notification_count(session: AsyncSession) -> int:
    statement = select(func.count()).where(col(ProviderNotification.status) == "pending")
    return int((await session.exec(statement)).one())


async def add_sync_run(session: AsyncSession, run: SyncRun) -> bool:
    """Stores the run unless one with its id exists (a redelivered request); returns whether it is new."""
    statement = insert(SyncRun).values(**run.model_dump()).on_conflict_do_nothing().returning(col(SyncRun.id))
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def open_sync_run(session: AsyncSession, connection_id: str) -> SyncRun | None:
    """The connection's pending or running sync, if any."""
    statement = select(SyncRun).where(
        col(SyncRun.connection_id) == connection_id, col(SyncRun.status).in_(("pending", "running"))
    )
    return (await session.exec(statement)).first()


async def get_sync_run(session: AsyncSession, sync_id: uuid.UUID) -> SyncRun | None:
    return await session.get(SyncRun, sync_id)


async def claim_due_sync_run(session: AsyncSession, lease: timedelta) -> SyncRun | None:
    """The oldest sync whose time has come, leased to the caller (locked for this transaction)."""
    statement = (
        select(SyncRun)
        .where(
            col(SyncRun.status).in_(("pending", "running")),
            col(SyncRun.next_attempt_at) <= func.now(),
        )
        .order_by(col(SyncRun.next_attempt_at))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    run = (await session.exec(statement)).first()
    if run is not None:
        run.next_attempt_at = datetime.now(run.next_attempt_at.tzinfo) + lease
        run.lease_until = run.next_attempt_at
        session.add(run)
        await session.flush()
    return run


async def close_open_sync_runs(session: AsyncSession, connection_id: str) -> list[SyncRun]:
    """Ends the connection's pending and running syncs (the connection is gone); returns them."""
    statement = (
        update(SyncRun)
        .where(col(SyncRun.connection_id) == connection_id, col(SyncRun.status).in_(("pending", "running")))
        .values(status="failed", error="The connection was removed", completed_at=func.now())
        .returning(SyncRun)
    )
    return list((await session.exec(statement)).scalars().all())  # type: ignore[call-overload]


ACTIVITY_FIELDS = (
    "user_id",
    "connection_id",
    "provider_user_id",
    "sport",
    "sub_sport",
    "sport_type",
    "name",
    "start_time",
    "timezone",
    "utc_offset_seconds",
    "elapsed_time_s",
    "moving_time_s",
    "distance_m",
    "elevation_gain_m",
    "average_heartrate",
    "max_heartrate",
    "average_power_w",
    "max_power_w",
    "normalized_power_w",
    "average_speed_mps",
    "max_speed_mps",
    "average_cadence",
    "calories",
    "device_name",
    "is_manual",
    "raw",
)


def _upsert_activities() -> Any:
    table = Activity.__table__  # type: ignore[attr-defined]
    inserting = insert(table)
    changed = or_(*(table.c[name].is_distinct_from(inserting.excluded[name]) for name in ACTIVITY_FIELDS))
    return inserting.on_conflict_do_update(
        constraint="uq_activities_provider_external_id",
        set_={
            **{name: inserting.excluded[name] for name in ACTIVITY_FIELDS},
            "revision": table.c.revision + 1,
            "updated_at": func.now(),
        },
        # An athlete's activity is never handed over to another athlete, whoever names its id.
        where=and_(changed, table.c.user_id == inserting.excluded.user_id),
    ).returning(*table.c, literal_column("(xmax = 0)").label("created"))


_UPSERT_ACTIVITIES = _upsert_activities()
"""Bound to a page's rows at once (one statement of many VALUES): compiled once, whatever the page's size."""


async def upsert_activities(session: AsyncSession, rows: list[dict[str, Any]]) -> list[tuple[Activity, bool]]:
    """Inserts or updates activities by (provider, external id) in one statement. Returns the rows that
    were created or actually changed, each with whether it was created; unchanged ones are left out."""
    if not rows:
        return []
    result = await session.exec(_UPSERT_ACTIVITIES, params=rows)  # type: ignore[call-overload]
    stored = []
    for row in result.mappings():
        values = dict(row)
        created = bool(values.pop("created"))
        stored.append((Activity.model_validate(values), created))
    return stored


async def activities_by_external_ids(
    session: AsyncSession, user_id: str, provider: str, external_ids: list[str]
) -> list[Activity]:
    """The athlete's activities of the provider with these ids (another athlete's are not found)."""
    statement = select(Activity).where(
        col(Activity.user_id) == user_id,
        col(Activity.provider) == provider,
        col(Activity.external_id).in_(external_ids),
    )
    return list((await session.exec(statement)).all())


async def activities_of_account(
    session: AsyncSession, provider: str, provider_user_id: str
) -> list[Activity]:
    statement = select(Activity).where(
        col(Activity.provider) == provider, col(Activity.provider_user_id) == provider_user_id
    )
    return list((await session.exec(statement)).all())


async def delete_activity(session: AsyncSession, activity_id: uuid.UUID) -> None:
    await session.exec(delete(Activity).where(col(Activity.id) == activity_id))  # type: ignore[call-overload]


async def mark_session_matched(
    session: AsyncSession, user_id: str, activity_id: uuid.UUID, session_id: str
) -> bool:
    """Records the planned session the athlete's activity completed; returns whether the activity exists."""
    statement = (
        update(Activity)
        .where(col(Activity.id) == activity_id, col(Activity.user_id) == user_id)
        .values(matched_session_id=session_id)
        .returning(col(Activity.id))
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def delete_athlete_activity_rows(session: AsyncSession, user_id: str) -> None:
    """Everything about the athlete's activities: their activities (merges go with them), syncs, links."""
    await session.exec(update(Activity).where(col(Activity.user_id) == user_id).values(duplicate_of=None))  # type: ignore[call-overload]
    await session.exec(delete(Activity).where(col(Activity.user_id) == user_id))  # type: ignore[call-overload]
    await session.exec(delete(SyncRun).where(col(SyncRun.user_id) == user_id))  # type: ignore[call-overload]
    await session.exec(delete(ProviderLink).where(col(ProviderLink.user_id) == user_id))  # type: ignore[call-overload]


WORK_CHANNEL = "ingestion_work"


async def notify_work(session: AsyncSession) -> None:
    """Wakes the workers when the transaction commits (PostgreSQL delivers NOTIFY at commit)."""
    await session.exec(text(f"NOTIFY {WORK_CHANNEL}"))  # type: ignore[call-overload]


# -- The athletes' activities, as the app reads them ------------------------------------------------


@dataclass(frozen=True)
class ActivityFilters:
    """Which of an athlete's activities a list or a computation is about. A `date` bound is a day of the
    athlete's (see `local_start_expression`), both ends included; a `datetime` bound is an instant, both
    ends included too."""

    provider: str | None = None
    """Only this provider's own rows, whether shown or merged into another (the Strava endpoints)."""
    recorded_by: str | None = None
    """Activities this provider recorded: its own row, or a duplicate merged into the row shown."""
    visible_only: bool = True
    """Only what the athlete sees: not the copies merged into another provider's row."""
    sport: str | None = None
    sport_type: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    matched: bool | None = None


@dataclass(frozen=True)
class ActivityFacts:
    """What stats and analyses read of an activity (never its raw payload)."""

    sport: str
    start_time: datetime
    utc_offset_seconds: int | None
    moving_time_s: int | None
    elapsed_time_s: int | None
    distance_m: float | None
    average_power_w: float | None
    max_heartrate: float | None


# Real UTC offsets lie within -12 h and +14 h: a day's activities all start within a day of its midnight
# in UTC, which keeps the (user_id, start_time) index useful for a day filter.
_LOCAL_DAY_MARGIN = timedelta(days=1)


def local_start_expression() -> Any:
    """The start on the athlete's wall clock, written as a UTC instant (`start_time` + the activity's
    offset): compared with a day's midnight in UTC, it tells the activity's local day. An activity whose
    provider gave no offset is placed on its UTC day (as `ingestion.activities.local_start` does)."""
    return col(Activity.start_time) + func.coalesce(col(Activity.utc_offset_seconds), 0) * literal_column(
        "interval '1 second'"
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _activity_conditions(user_id: str, filters: ActivityFilters) -> list[Any]:
    conditions: list[Any] = [col(Activity.user_id) == user_id]
    if filters.visible_only:
        conditions.append(col(Activity.duplicate_of).is_(None))
    if filters.provider is not None:
        conditions.append(col(Activity.provider) == filters.provider)
    if filters.recorded_by is not None:
        duplicate = aliased(Activity)
        merged_from_it = (
            select(duplicate.id)
            .where(
                col(duplicate.duplicate_of) == col(Activity.id),
                col(duplicate.provider) == filters.recorded_by,
            )
            .exists()
        )
        conditions.append(or_(col(Activity.provider) == filters.recorded_by, merged_from_it))
    if filters.sport is not None:
        conditions.append(col(Activity.sport) == filters.sport)
    if filters.sport_type is not None:
        conditions.append(col(Activity.sport_type) == filters.sport_type)
    if filters.matched is not None:
        matched = col(Activity.matched_session_id)
        conditions.append(matched.is_not(None) if filters.matched else matched.is_(None))
    if isinstance(filters.since, datetime):
        conditions.append(col(Activity.start_time) >= filters.since)
    elif filters.since is not None:
        first = _midnight(filters.since)
        conditions += [
            local_start_expression() >= first,
            col(Activity.start_time) >= first - _LOCAL_DAY_MARGIN,
        ]
    if isinstance(filters.until, datetime):
        conditions.append(col(Activity.start_time) <= filters.until)
    elif filters.until is not None:
        after = _midnight(filters.until + timedelta(days=1))
        conditions += [local_start_expression() < after, col(Activity.start_time) < after + _LOCAL_DAY_MARGIN]
    return conditions


async def athlete_activities_page(
    session: AsyncSession, user_id: str, filters: ActivityFilters, *, limit: int, offset: int
) -> tuple[list[Activity], int]:
    """One page of the athlete's activities, newest first (without their raw payloads), and how many
    there are in all."""
    conditions = _activity_conditions(user_id, filters)
    total = (await session.exec(select(func.count()).select_from(Activity).where(*conditions))).one()
    statement = (
        select(Activity)
        .where(*conditions)
        .options(defer(Activity.raw))  # type: ignore[arg-type]
        .order_by(col(Activity.start_time).desc(), col(Activity.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.exec(statement)).all()), total


async def get_athlete_activity(
    session: AsyncSession, user_id: str, activity_id: uuid.UUID
) -> Activity | None:
    """One of the athlete's activities, shown or merged into another (without its raw payload)."""
    statement = (
        select(Activity)
        .where(col(Activity.id) == activity_id, col(Activity.user_id) == user_id)
        .options(defer(Activity.raw))  # type: ignore[arg-type]
    )
    return (await session.exec(statement)).first()


async def merged_providers(session: AsyncSession, kept_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """For each shown activity, the providers whose copies were merged into it (sorted)."""
    if not kept_ids:
        return {}
    statement = (
        select(Activity.duplicate_of, Activity.provider)
        .where(col(Activity.duplicate_of).in_(kept_ids))
        .distinct()
        .order_by(col(Activity.provider))
    )
    providers: dict[uuid.UUID, list[str]] = {}
    for kept_id, provider in (await session.exec(statement)).all():
        if kept_id is not None:
            providers.setdefault(kept_id, []).append(provider)
    return providers


async def activity_facts(
    session: AsyncSession, user_id: str, filters: ActivityFilters
) -> list[ActivityFacts]:
    """The measures of the athlete's activities the filters select, for stats and analyses."""
    statement = sa_select(
        col(Activity.sport),
        col(Activity.start_time),
        col(Activity.utc_offset_seconds),
        col(Activity.moving_time_s),
        col(Activity.elapsed_time_s),
        col(Activity.distance_m),
        col(Activity.average_power_w),
        col(Activity.max_heartrate),
    ).where(*_activity_conditions(user_id, filters))
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return [ActivityFacts(*row) for row in rows]


# -- Cross-provider deduplication: activity merges ---------------------------------------------------


async def lock_activity_merges(session: AsyncSession, user_id: str) -> None:
    """Holds the athlete's merge lock until the transaction ends. Two providers' copies of one workout
    stored at once by two workers are then compared: whichever reconciles second waits for the first
    to commit, and sees its copy."""
    key = func.hashtextextended(f"activity-merges:{user_id}", 0)
    await session.exec(select(func.pg_advisory_xact_lock(key)))


async def load_activity(session: AsyncSession, activity_id: uuid.UUID) -> Activity | None:
    """The activity as stored now, even when this session read it before a later change."""
    statement = (
        select(Activity).where(col(Activity.id) == activity_id).execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()


async def shown_activities_starting_between(
    session: AsyncSession,
    user_id: str,
    since: datetime,
    until: datetime,
    *,
    other_than_provider: str,
    excluding: Collection[uuid.UUID],
) -> list[Activity]:
    """The athlete's shown activities of other providers starting in [since, until]: the copies a new
    activity may be merged with."""
    statement = (
        select(Activity)
        .where(
            col(Activity.user_id) == user_id,
            col(Activity.start_time).between(since, until),
            col(Activity.provider) != other_than_provider,
            col(Activity.duplicate_of).is_(None),
            col(Activity.id).not_in(list(excluding)),
        )
        .order_by(col(Activity.start_time), col(Activity.id))
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(statement)).all())


async def copies_shown_as(session: AsyncSession, shown_id: uuid.UUID) -> list[Activity]:
    """The copies merged into a shown activity (directly or not: they all point at the shown one)."""
    statement = (
        select(Activity)
        .where(col(Activity.duplicate_of) == shown_id)
        .order_by(col(Activity.created_at), col(Activity.id))
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(statement)).all())


async def activities_by_ids(session: AsyncSession, activity_ids: Collection[uuid.UUID]) -> list[Activity]:
    if not activity_ids:
        return []
    statement = (
        select(Activity)
        .where(col(Activity.id).in_(list(activity_ids)))
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(statement)).all())


async def active_merge_of_duplicate(session: AsyncSession, duplicate_id: uuid.UUID) -> ActivityMerge | None:
    """The merge, not undone, that made this activity a copy of another."""
    statement = select(ActivityMerge).where(
        col(ActivityMerge.duplicate_id) == duplicate_id, col(ActivityMerge.undone_at).is_(None)
    )
    return (await session.exec(statement)).first()


async def active_merges_kept_by(
    session: AsyncSession, kept_ids: Collection[uuid.UUID]
) -> list[ActivityMerge]:
    """The merges, not undone, of copies merged directly into these activities."""
    statement = (
        select(ActivityMerge)
        .where(col(ActivityMerge.kept_id).in_(list(kept_ids)), col(ActivityMerge.undone_at).is_(None))
        .order_by(col(ActivityMerge.merged_at), col(ActivityMerge.id))
    )
    return list((await session.exec(statement)).all())


async def merge_of_pair(
    session: AsyncSession, first_id: uuid.UUID, second_id: uuid.UUID
) -> ActivityMerge | None:
    """The merge of these two activities, whichever was kept, undone or not."""
    statement = select(ActivityMerge).where(
        or_(
            and_(col(ActivityMerge.kept_id) == first_id, col(ActivityMerge.duplicate_id) == second_id),
            and_(col(ActivityMerge.kept_id) == second_id, col(ActivityMerge.duplicate_id) == first_id),
        )
    )
    return (await session.exec(statement)).first()


async def separated_by_a_person(
    session: AsyncSession,
    first_ids: Collection[uuid.UUID],
    second_ids: Collection[uuid.UUID],
    automatic_undos: Collection[str],
) -> bool:
    """Whether a merge between an activity of each set was undone by a person (not by Relay itself)."""
    first, second = list(first_ids), list(second_ids)
    statement = select(ActivityMerge.id).where(
        col(ActivityMerge.undone_at).is_not(None),
        col(ActivityMerge.undone_by).not_in(list(automatic_undos)),
        or_(
            and_(col(ActivityMerge.kept_id).in_(first), col(ActivityMerge.duplicate_id).in_(second)),
            and_(col(ActivityMerge.kept_id).in_(second), col(ActivityMerge.duplicate_id).in_(first)),
        ),
    )
    return (await session.exec(statement.limit(1))).first() is not None


async def get_athlete_merge(session: AsyncSession, user_id: str, merge_id: uuid.UUID) -> ActivityMerge | None:
    statement = select(ActivityMerge).where(
        col(ActivityMerge.id) == merge_id, col(ActivityMerge.user_id) == user_id
    )
    return (await session.exec(statement)).first()


async def merges_involving(session: AsyncSession, activity_ids: Collection[uuid.UUID]) -> list[ActivityMerge]:
    """Every merge, undone or not, of which one of these activities is a side; the oldest first."""
    ids = list(activity_ids)
    statement = (
        select(ActivityMerge)
        .where(or_(col(ActivityMerge.kept_id).in_(ids), col(ActivityMerge.duplicate_id).in_(ids)))
        .order_by(col(ActivityMerge.merged_at), col(ActivityMerge.id))
    )
    return list((await session.exec(statement)).all())


# -- Webhook acceptance ------------------------------------------------------------------------------


async def lock_unstarted_notification(
    session: AsyncSession, provider: str, owner_id: str, object_type: str, object_id: str
) -> uuid.UUID | None:
    """A pending notification about the same object that no worker has claimed yet (a claim counts an
    attempt), locked until the caller's transaction ends so that no worker claims it meanwhile; None
    when there is none (or only one a worker is busy with)."""
    statement = (
        select(col(ProviderNotification.id))
        .where(
            col(ProviderNotification.provider) == provider,
            col(ProviderNotification.owner_id) == owner_id,
            col(ProviderNotification.object_type) == object_type,
            col(ProviderNotification.object_id) == object_id,
            col(ProviderNotification.status) == "pending",
            col(ProviderNotification.attempts) == 0,
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(statement)).first()


async def count_matched_activities(
    session: AsyncSession, user_id: str, provider: str, since: datetime
) -> int:
    """The athlete's activities of `provider` since `since` that completed a planned session."""
    statement = select(func.count()).where(
        col(Activity.user_id) == user_id,
        col(Activity.provider) == provider,
        col(Activity.start_time) >= since,
        col(Activity.matched_session_id).is_not(None),
    )
    return int((await session.exec(statement)).one())


async def other_provider_starts(
    session: AsyncSession, user_id: str, provider: str, since: datetime, until: datetime
) -> list[datetime]:
    """When the athlete's activities from other providers started within [since, until], in order."""
    statement = (
        select(col(Activity.start_time))
        .where(
            col(Activity.user_id) == user_id,
            col(Activity.provider) != provider,
            col(Activity.start_time) >= since,
            col(Activity.start_time) <= until,
        )
        .order_by(col(Activity.start_time))
    )
    return list((await session.exec(statement)).all())
