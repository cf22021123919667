"""The ingestion worker: it reads what notifications point to and advances syncs, in every replica.

Work lives in the database (`provider_notifications` pending, `sync_runs` pending or running), claimed
with `SKIP LOCKED` and a lease, so replicas share it and a crashed worker's work is taken over when its
lease ends. Live notifications come first: a sync page is read only when no notification is due, and
syncs spend only their share of the provider's budget (`budget.py`). The worker wakes on
`NOTIFY ingestion_work` (sent when a webhook or a sync is committed) or after `worker_idle_seconds`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository, storing, syncs
from ingestion.config import PROVIDER_API_URLS, Settings
from ingestion.models import ProviderLink, ProviderNotification, SyncRun
from ingestion.providers.base import (
    Budget,
    NotFoundAtProvider,
    Notification,
    Page,
    Priority,
    ProviderApi,
    ProviderHttp,
    ProviderProblem,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from ingestion.tokens import AccessTokens, ConnectionsUnavailable, ConnectionUnusable
from relay_platform.logging import get_logger
from relay_platform.telemetry import continued_span

log = get_logger(__name__)

NOTIFICATION_LEASE = timedelta(seconds=60)
SYNC_LEASE = timedelta(seconds=120)
PAGES_PER_CLAIM = 10
"""Pages of a sync one claim reads (unless live work arrives): each page's successor is read while it is
stored."""
MAX_NOTIFICATION_ATTEMPTS = 8
IGNORED_AT_ONCE = 1000
PUSH_PROVIDERS = frozenset({"coros", "wahoo", "health_bridge"})
"""Providers whose notifications carry the data: no token is needed to read them."""
SYNC_OUTCOMES = ("started", "completed", "failed")


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "relay_ingestion_notifications_total",
            "Notifications processed by the worker, by provider and outcome.",
            ["provider", "outcome"],
            registry=registry,
        )
        self.freshness = Histogram(
            "relay_ingestion_freshness_seconds",
            "From a notification's arrival to its activities stored.",
            ["provider"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
            registry=registry,
        )
        self.activities = Counter(
            "relay_ingestion_activities_total",
            "Activities read from providers, by provider and what storing them did.",
            ["provider", "outcome"],
            registry=registry,
        )
        self.sync_pages = Counter(
            "relay_ingestion_sync_pages_total",
            "Pages of activities read by syncs (backfill, requested, polls), by provider and outcome.",
            ["provider", "outcome"],
            registry=registry,
        )
        self.syncs = Counter(
            "relay_ingestion_syncs_total",
            "Syncs started, completed and failed, by provider and trigger (link: the backfill after an "
            "athlete links the provider; manual, webhook, schedule).",
            ["provider", "trigger", "outcome"],
            registry=registry,
        )
        self.sync_activities = Counter(
            "relay_ingestion_sync_activities_total",
            "Activities read by syncs, by provider and trigger (link: imported by backfills).",
            ["provider", "trigger"],
            registry=registry,
        )
        # Known in advance: shown as 0 rather than missing until the first one (and the first one
        # shows as an increase).
        for provider in PROVIDER_API_URLS:
            for outcome in SYNC_OUTCOMES:
                self.syncs.labels(provider=provider, trigger="link", outcome=outcome)
            self.sync_activities.labels(provider=provider, trigger="link")
        for provider in (*PROVIDER_API_URLS, "health_bridge"):
            self.freshness.labels(provider=provider)


@dataclass
class Readers:
    """What reading a provider takes: its API module, the athletes' tokens, the shared budget and an
    HTTP client."""

    settings: Settings
    apis: Mapping[str, ProviderApi]
    tokens: AccessTokens
    budget: Budget
    http: httpx.AsyncClient

    async def http_for(self, link: ProviderLink, priority: Priority, *, needs_token: bool) -> ProviderHttp:
        token = ""
        if needs_token:
            issued = await self.tokens.for_account(link.provider, link.provider_user_id, "read_activities")
            token = issued.access_token
        return ProviderHttp(
            self.http,
            provider=link.provider,
            base_url=self.settings.feed(link.provider).api_url if link.provider in PROVIDER_API_URLS else "",
            access_token=token,
            provider_user_id=link.provider_user_id,
            budget=self.budget,
            priority=priority,
        )


class Worker:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        readers: Readers,
        database_dsn: str,
        metrics: WorkerMetrics,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._readers = readers
        self._settings = readers.settings
        self._dsn = database_dsn
        self._metrics = metrics
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def _topic_prefix(self) -> str:
        return self._settings.kafka_topic_prefix

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ingestion-worker")
        self._task.add_done_callback(_log_crash)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                try:
                    done = await self.run_once()
                except Exception:
                    log.exception("ingestion_worker_failed")
                    done = 0
                if done == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wakeup.wait(), timeout=self._settings.worker_idle_seconds
                        )
                    if self._wakeup.is_set():
                        # Webhooks come in bursts: what arrives meanwhile is taken in the same batch.
                        await asyncio.sleep(self._settings.worker_linger_seconds)
                    self._wakeup.clear()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close(timeout=2)

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            connection = await asyncpg.connect(self._dsn)
            await connection.add_listener(repository.WORK_CHANNEL, lambda *_: self._wakeup.set())
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("ingestion_worker_cannot_listen", error=str(error))
            return None
        return connection

    async def run_once(self) -> int:
        """One round: a batch of due notifications, else one page of a due sync. Returns how much was
        done (0: nothing was due)."""
        self._wakeup.clear()  # set again by what is committed from now on
        done = await self.process_notifications()
        if done == 0:
            done = await self.advance_sync()
        return done

    # -- Notifications -----------------------------------------------------------------------------

    async def process_notifications(self) -> int:
        """Settles at once the due notifications there is nothing to read for (a burst of them costs one
        statement), then reads a batch of the others concurrently."""
        async with self._sessionmaker() as session, session.begin():
            ignored = await repository.ignore_unreadable_notifications(session, IGNORED_AT_ONCE)
            batch = await repository.claim_due_notifications(
                session, self._settings.worker_concurrency, NOTIFICATION_LEASE
            )
        for provider in ignored:
            self._metrics.notifications.labels(provider=provider, outcome="ignored").inc()
        await asyncio.gather(*(self._process_notification(row) for row in batch))
        return len(ignored) + len(batch)

    async def _process_notification(self, row: ProviderNotification) -> None:
        """Reads one notification in the trace of the webhook that brought it."""
        attributes = {"relay.provider": row.provider, "relay.notification_id": str(row.id)}
        with continued_span("ingestion read notification", row.traceparent, attributes):
            outcome = await self._outcome_of(row)
        self._metrics.notifications.labels(provider=row.provider, outcome=outcome).inc()

    async def _outcome_of(self, row: ProviderNotification) -> str:
        outcome = "processed"
        try:
            outcome = await self._read_notification(row)
        except RateLimited as limited:
            outcome = "rate_limited"
            await self._settle(row, "pending", str(limited), retry_at=limited.retry_at, count_attempt=False)
        except TokenRejected as rejected:
            outcome = "token_rejected"
            self._readers.tokens.forget(row.provider, row.owner_id)
            await self._retry_or_fail(row, str(rejected), limit=3)
        except (ProviderProblem, ConnectionsUnavailable) as problem:
            outcome = "retried"
            await self._retry_or_fail(row, str(problem), limit=MAX_NOTIFICATION_ATTEMPTS)
        except ConnectionUnusable as unusable:
            outcome = "ignored"
            await self._settle(row, "ignored", f"connection {unusable.code}")
        except Exception as error:
            outcome = "retried"
            log.exception("notification_failed", notification_id=str(row.id), provider=row.provider)
            await self._retry_or_fail(row, f"{type(error).__name__}", limit=MAX_NOTIFICATION_ATTEMPTS)
        return outcome

    async def _read_notification(self, row: ProviderNotification) -> str:
        if row.object_type == "athlete":
            # Deauthorizations and profile changes: the connections service acts on them.
            await self._settle(row, "ignored", None)
            return "ignored"
        async with self._sessionmaker() as session:
            link = await self._link_of(session, row)
        if link is None or link.status != "active" or not link.is_active:
            await self._settle(row, "ignored", repository.NO_ACTIVE_LINK)
            return "ignored"
        notification = Notification(
            provider=row.provider,
            owner_id=row.owner_id,
            object_type=row.object_type,
            object_id=row.object_id,
            aspect_type=row.aspect_type,  # type: ignore[arg-type]
            event_time=row.event_time,
            payload=row.payload,
            updates=row.payload.get("updates") or {},
        )
        api = self._readers.apis[row.provider]
        needs_token = row.provider not in PUSH_PROVIDERS and not _carries_data(row)
        http = await self._readers.http_for(link, "live", needs_token=needs_token)
        deleted: list[str] = []
        try:
            fetched = await api.fetch(http, notification)
        except NotFoundAtProvider:
            # Gone, or made private to Relay, since the notification: what Relay holds of it goes too.
            fetched, deleted = None, [row.object_id]
        async with self._sessionmaker() as session, session.begin():
            if fetched is not None:
                counts = await storing.store_activities(
                    session, link, fetched.activities, topic_prefix=self._topic_prefix
                )
                deleted = fetched.deleted
                self._count(row.provider, counts)
            if deleted:
                await storing.delete_at_provider(session, link, deleted, topic_prefix=self._topic_prefix)
            await repository.settle_notification(session, row.id, "processed")
        log.info(
            "notification_processed",
            notification_id=str(row.id),
            provider=row.provider,
            object_id=row.object_id,
            activities=len(fetched.activities) if fetched is not None else 0,
            deleted=len(deleted),
        )
        if row.received_at is not None:
            self._metrics.freshness.labels(provider=row.provider).observe(
                max(0.0, (datetime.now(UTC) - row.received_at).total_seconds())
            )
        return "processed"

    async def _link_of(self, session: AsyncSession, row: ProviderNotification) -> ProviderLink | None:
        if row.provider == "health_bridge":
            # The bridge app authenticates with the athlete's own API key: the owner is the athlete.
            links = await repository.links_of_athlete(session, row.owner_id, "health_bridge")
            return links[0] if links else _bridge_link(row.owner_id)
        return await repository.link_of_account(session, row.provider, row.owner_id)

    async def _retry_or_fail(self, row: ProviderNotification, error: str, *, limit: int) -> None:
        if row.attempts >= limit:
            log.warning(
                "notification_given_up", notification_id=str(row.id), provider=row.provider, error=error
            )
            await self._settle(row, "failed", error)
            return
        retry_at = datetime.now(UTC) + timedelta(seconds=min(900, 2 ** (row.attempts + 1)))
        await self._settle(row, "pending", error, retry_at=retry_at)

    async def _settle(
        self,
        row: ProviderNotification,
        status: str,
        error: str | None,
        *,
        retry_at: datetime | None = None,
        count_attempt: bool = True,
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            await repository.settle_notification(
                session, row.id, status, error=error, retry_at=retry_at, count_attempt=count_attempt
            )

    def _count(self, provider: str, counts: storing.StoreCounts) -> None:
        for outcome, value in (
            ("created", counts.created),
            ("updated", counts.updated),
            ("unchanged", counts.unchanged),
        ):
            if value:
                self._metrics.activities.labels(provider=provider, outcome=outcome).inc(value)

    # -- Syncs -------------------------------------------------------------------------------------

    def count_sync(self, run: SyncRun, outcome: str) -> None:
        """Counts a sync started, completed or failed (once its transaction is committed)."""
        self._metrics.syncs.labels(provider=run.provider, trigger=run.trigger, outcome=outcome).inc()

    async def advance_sync(self) -> int:
        """Reads and stores pages of the oldest due sync; returns 1 when a sync was due."""
        async with self._sessionmaker() as session, session.begin():
            run = await repository.claim_due_sync_run(session, SYNC_LEASE)
            if run is None:
                return 0
            starting = run.status == "pending"
            await syncs.start(session, run, topic_prefix=self._topic_prefix)
            link = await repository.get_link(session, run.connection_id)
            usable = link is not None and link.status == "active" and link.is_active
            if not usable:
                reason = (
                    "reauth_required"
                    if link is not None and link.status == "reauth_required"
                    else "connection_gone"
                )
                await syncs.fail(
                    session, run, reason, "The connection is not active", topic_prefix=self._topic_prefix
                )
        if starting:
            self.count_sync(run, "started")
        if not usable or link is None:
            self.count_sync(run, "failed")
            return 1
        await self.read_pages(run, link, PAGES_PER_CLAIM)
        return 1

    async def read_pages(self, run: SyncRun, link: ProviderLink, pages: int = 1) -> None:
        """Reads the run's next pages (at most `pages`) and stores each with the run's progress, the next
        page being read while one is stored. It stops early when a webhook has brought live work, which
        goes first. A failure to read leaves the run to retry (or fails it once its attempts are used
        up)."""
        priority: Priority = "live" if run.trigger == "manual" else "backfill"
        reading = asyncio.create_task(self._read_page(run, link, run.cursor, priority))
        try:
            for left in range(pages - 1, -1, -1):
                started = time.monotonic()
                page = await self._page_or_setback(run, reading)
                if page is None:
                    return
                going_on = page.cursor is not None and left > 0 and not self._wakeup.is_set()
                if going_on:
                    reading = asyncio.create_task(self._read_page(run, link, page.cursor, priority))
                stored = await self._store_page(run, link, page, keep_lease=going_on)
                # `superseded`: another worker took the run over after this one's lease ended.
                outcome = "stored" if stored else "superseded"
                self._metrics.sync_pages.labels(provider=run.provider, outcome=outcome).inc()
                log.info(
                    "sync_page_read",
                    sync_id=str(run.id),
                    provider=run.provider,
                    outcome=outcome,
                    duration_ms=round((time.monotonic() - started) * 1000, 1),
                )
                if stored is None or not going_on:
                    return
                run = stored
        finally:
            if not reading.done():  # superseded, or the worker is stopping
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading

    async def _read_page(
        self, run: SyncRun, link: ProviderLink, cursor: dict[str, Any] | None, priority: Priority
    ) -> Page:
        http = await self._readers.http_for(link, priority, needs_token=True)
        return await self._readers.apis[run.provider].list_activities(http, run.since, run.until, cursor)

    async def _page_or_setback(self, run: SyncRun, reading: asyncio.Task[Page]) -> Page | None:
        """The page read, or None once the failure to read it has been recorded on the run."""
        try:
            return await reading
        except RateLimited as limited:
            outcome = "rate_limited"
            await self._sync_setback(run, limited.retry_at, str(limited), counted=False)
        except TokenRejected as rejected:
            outcome = "token_rejected"
            self._readers.tokens.forget(run.provider, run.provider_user_id)
            await self._sync_setback(run, None, str(rejected), counted=True, reason="reauth_required")
        except ConnectionUnusable as unusable:
            outcome = "failed"
            reason = "connection_gone" if unusable.code == "connection_not_found" else "reauth_required"
            await self._sync_failed(run, reason, f"The connection cannot be used ({unusable.code})")
        except (ProviderUnavailable, ProviderProblem, ConnectionsUnavailable) as problem:
            outcome = "retried"
            await self._sync_setback(run, None, str(problem), counted=True)
        self._metrics.sync_pages.labels(provider=run.provider, outcome=outcome).inc()
        log.info("sync_page_read", sync_id=str(run.id), provider=run.provider, outcome=outcome)
        return None

    async def _store_page(
        self, run: SyncRun, link: ProviderLink, page: Page, *, keep_lease: bool
    ) -> SyncRun | None:
        """Stores the page and moves the run on; None when another worker has taken the run over (after
        this one's lease ended)."""
        async with self._sessionmaker() as session, session.begin():
            current = await session.get(SyncRun, run.id, with_for_update=True)
            if current is None or current.status != "running" or current.cursor != run.cursor:
                return None
            counts = await storing.store_activities(
                session, link, page.activities, topic_prefix=self._topic_prefix
            )
            await syncs.record_page(
                session,
                current,
                page,
                counts,
                topic_prefix=self._topic_prefix,
                lease_until=datetime.now(UTC) + SYNC_LEASE if keep_lease else None,
            )
            self._count(run.provider, counts)
        self._metrics.sync_activities.labels(provider=run.provider, trigger=run.trigger).inc(
            len(page.activities)
        )
        if current.status == "success":
            self.count_sync(current, "completed")
        return current

    async def _sync_setback(
        self,
        run: SyncRun,
        at: datetime | None,
        error: str,
        *,
        counted: bool,
        reason: str = "provider_unavailable",
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            current = await session.get(SyncRun, run.id, with_for_update=True)
            if current is None or current.status != "running":
                return
            retry_at = at or datetime.now(UTC) + syncs.backoff(current.attempts)
            if not await syncs.retry_later(session, current, retry_at, error, counted=counted):
                await syncs.fail(session, current, reason, error, topic_prefix=self._topic_prefix)
        if current.status == "failed":
            self.count_sync(current, "failed")

    async def _sync_failed(self, run: SyncRun, reason: str, error: str) -> None:
        async with self._sessionmaker() as session, session.begin():
            current = await session.get(SyncRun, run.id, with_for_update=True)
            if current is None or current.status != "running":
                return
            await syncs.fail(session, current, reason, error, topic_prefix=self._topic_prefix)
        self.count_sync(current, "failed")


def _carries_data(row: ProviderNotification) -> bool:
    """Garmin pushes carry the activity; its pings carry only a callback URL to read it from."""
    return row.provider == "garmin" and "callbackURL" not in row.payload


def _bridge_link(user_id: str) -> ProviderLink:
    return ProviderLink(
        connection_id=f"health_bridge:{user_id}",
        user_id=user_id,
        provider="health_bridge",
        provider_user_id=user_id,
        linked_at=datetime.now(UTC),
    )


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("ingestion_worker_crashed", error=repr(task.exception()))
