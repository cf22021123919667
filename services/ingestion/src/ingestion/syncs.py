"""Synchronisations of a connection (backfill after a link, a sync the athlete asked for, a poll): the
life of a `sync_runs` row and the `ingestion.sync.*` events that let the connections service show it.
A run advances one page at a time, each page stored with the run's new cursor and counts in one
transaction, so a run interrupted by a crash resumes after its last stored page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository
from ingestion.models import SyncRun
from ingestion.providers.base import Page
from ingestion.storing import StoreCounts
from relay_contracts.catalog import (
    INGESTION_SYNC_COMPLETED,
    INGESTION_SYNC_FAILED,
    INGESTION_SYNC_PROGRESSED,
    INGESTION_SYNC_STARTED,
)
from relay_contracts.events.ingestion import SyncCompleted, SyncFailed, SyncProgressed, SyncStarted
from relay_platform.outbox import add_event

MAX_ATTEMPTS = 6
"""Failed attempts (provider or connections unavailable, token refused) before a run gives up; waits
for a rate-limit window do not count."""


def new_run(
    sync_id: uuid.UUID,
    connection_id: str,
    user_id: str,
    provider: str,
    provider_user_id: str,
    *,
    trigger: str,
    since: datetime,
    until: datetime,
) -> SyncRun:
    now = datetime.now(UTC)
    return SyncRun(
        id=sync_id,
        connection_id=connection_id,
        user_id=user_id,
        provider=provider,
        provider_user_id=provider_user_id,
        trigger=trigger,
        since=since,
        until=until,
        status="pending",
        next_attempt_at=now,
        created_at=now,
    )


async def schedule(session: AsyncSession, run: SyncRun) -> bool:
    """Stores a run for the worker (a redelivered request is recognized by its id); wakes the worker
    at commit."""
    stored = await repository.add_sync_run(session, run)
    if stored:
        await repository.notify_work(session)
    return stored


async def start(session: AsyncSession, run: SyncRun, *, topic_prefix: str) -> None:
    if run.status != "pending":
        return
    run.status = "running"
    run.started_at = datetime.now(UTC)
    session.add(run)
    started = SyncStarted(
        sync_id=str(run.id),
        connection_id=run.connection_id,
        user_id=run.user_id,
        provider=run.provider,  # type: ignore[arg-type]
        trigger=run.trigger,  # type: ignore[arg-type]
        started_at=run.started_at,
    )
    await add_event(
        session, INGESTION_SYNC_STARTED.envelope(started, subject=run.user_id), topic_prefix=topic_prefix
    )


def percent_done(run: SyncRun, page: Page) -> float | None:
    """How far the run is: from the expected total when the provider gives one, else from how far into
    the period the newest activity stored so far started (lists are read oldest first)."""
    if page.cursor is None:
        return 100.0
    if page.expected_total:
        return round(min(99.0, 100 * run.activities_fetched / page.expected_total), 1)
    if not page.activities:
        return None
    reached = max(a.start_time for a in page.activities)
    span = (run.until - run.since).total_seconds()
    if span <= 0:
        return None
    return round(min(99.0, max(0.0, 100 * (reached - run.since).total_seconds() / span)), 1)


async def record_page(
    session: AsyncSession,
    run: SyncRun,
    page: Page,
    counts: StoreCounts,
    *,
    topic_prefix: str,
    lease_until: datetime | None = None,
) -> None:
    """The page is stored: the run moves on (or completes), with its event. `lease_until` keeps the run
    for the worker that goes on reading it."""
    now = datetime.now(UTC)
    run.pages += 1
    run.activities_fetched += len(page.activities)
    run.activities_created += counts.created
    run.activities_updated += counts.updated
    run.activities_skipped += counts.unchanged
    run.expected_total = page.expected_total or run.expected_total
    run.cursor = page.cursor
    run.attempts = 0
    run.error = None
    run.lease_until = lease_until if page.cursor is not None else None
    run.next_attempt_at = run.lease_until or now
    if page.cursor is None:
        run.status = "success"
        run.completed_at = now
        completed = SyncCompleted(
            sync_id=str(run.id),
            connection_id=run.connection_id,
            user_id=run.user_id,
            provider=run.provider,  # type: ignore[arg-type]
            status="success",
            started_at=run.started_at or run.created_at,
            completed_at=now,
            activities_fetched=run.activities_fetched,
            activities_created=run.activities_created,
            activities_updated=run.activities_updated,
            activities_skipped=run.activities_skipped,
        )
        envelope = INGESTION_SYNC_COMPLETED.envelope(completed, subject=run.user_id)
    else:
        progressed = SyncProgressed(
            sync_id=str(run.id),
            connection_id=run.connection_id,
            user_id=run.user_id,
            provider=run.provider,  # type: ignore[arg-type]
            activities_fetched=run.activities_fetched,
            percent=percent_done(run, page),
            at=now,
        )
        envelope = INGESTION_SYNC_PROGRESSED.envelope(progressed, subject=run.user_id)
    session.add(run)
    await add_event(session, envelope, topic_prefix=topic_prefix)


async def retry_later(
    session: AsyncSession, run: SyncRun, at: datetime, error: str, *, counted: bool
) -> bool:
    """The page could not be read now: the run waits until `at`. Returns False when the run has used
    up its attempts (the caller then fails it)."""
    if counted:
        run.attempts += 1
    run.error = error
    run.next_attempt_at = at
    run.lease_until = None
    session.add(run)
    return run.attempts < MAX_ATTEMPTS


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2**attempts))


async def fail(session: AsyncSession, run: SyncRun, reason: str, error: str, *, topic_prefix: str) -> None:
    run.status = "failed"
    run.error = error
    run.completed_at = datetime.now(UTC)
    run.lease_until = None
    session.add(run)
    await announce_failure(session, run, reason, topic_prefix=topic_prefix)


async def announce_failure(session: AsyncSession, run: SyncRun, reason: str, *, topic_prefix: str) -> None:
    failed = SyncFailed(
        sync_id=str(run.id),
        connection_id=run.connection_id,
        user_id=run.user_id,
        provider=run.provider,  # type: ignore[arg-type]
        started_at=run.started_at or run.created_at,
        failed_at=run.completed_at or datetime.now(UTC),
        activities_fetched=run.activities_fetched,
        activities_created=run.activities_created,
        activities_updated=run.activities_updated,
        activities_skipped=run.activities_skipped,
        error=run.error or "The connection was removed",
        reason=reason,  # type: ignore[arg-type]
    )
    await add_event(
        session, INGESTION_SYNC_FAILED.envelope(failed, subject=run.user_id), topic_prefix=topic_prefix
    )


POLL_OVERLAP = timedelta(days=1)
"""A poll reads again the last day before the previous one: late uploads (a watch synced a day later)."""


async def poll_accounts(
    session: AsyncSession, providers: list[str], interval: timedelta, *, limit: int = 500
) -> int:
    """Schedules a sync of every active link of `providers` (those Relay cannot hear from through
    webhooks) not polled within `interval`; returns how many were scheduled."""
    now = datetime.now(UTC)
    scheduled = 0
    for link in await repository.links_due_for_poll(session, providers, now - interval, limit):
        since = (link.last_polled_at or link.linked_at) - POLL_OVERLAP
        link.last_polled_at = now
        session.add(link)
        if await repository.open_sync_run(session, link.connection_id) is not None:
            continue
        run = new_run(
            uuid.uuid4(),
            link.connection_id,
            link.user_id,
            link.provider,
            link.provider_user_id,
            trigger="schedule",
            since=since,
            until=now,
        )
        scheduled += await schedule(session, run)
    return scheduled
