"""The athletes' provider links, kept from the connections service's events: who a notification is
about, which accounts to backfill when they are linked, and what to erase when they are revoked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository, storing, syncs
from ingestion.config import Settings
from ingestion.models import ProviderLink
from relay_contracts.events.connections import (
    ConnectionLinked,
    ConnectionReauthRequired,
    ConnectionRevoked,
    ConnectionUpdated,
    SyncRequested,
)
from relay_platform.logging import get_logger

log = get_logger(__name__)

READABLE_PROVIDERS = frozenset({"strava", "garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo"})
"""Providers whose activities Relay reads through an API (the health bridge only pushes)."""


async def on_linked(session: AsyncSession, linked: ConnectionLinked, settings: Settings) -> None:
    """Keeps the link, and backfills the account's history (the provider's configured number of days)
    unless a sync of this connection is already under way."""
    await repository.upsert_link(
        session,
        ProviderLink(
            connection_id=linked.connection_id,
            user_id=linked.user_id,
            provider=linked.provider,
            provider_user_id=linked.provider_user_id,
            status="active",
            is_active=True,
            linked_at=linked.linked_at,
        ),
    )
    if linked.provider not in READABLE_PROVIDERS:
        return
    if await repository.open_sync_run(session, linked.connection_id) is not None:
        return
    now = datetime.now(UTC)
    days = settings.backfill_days_for(linked.provider)
    await syncs.schedule(
        session,
        syncs.new_run(
            uuid.uuid4(),
            linked.connection_id,
            linked.user_id,
            linked.provider,
            linked.provider_user_id,
            trigger="link",
            since=now - timedelta(days=days),
            until=now,
        ),
    )


async def on_updated(session: AsyncSession, updated: ConnectionUpdated) -> None:
    link = await repository.get_link(session, updated.connection_id)
    if link is None:
        return
    link.status, link.is_active = updated.status, updated.is_active
    session.add(link)


async def on_reauth_required(session: AsyncSession, required: ConnectionReauthRequired) -> None:
    link = await repository.get_link(session, required.connection_id)
    if link is None:
        return
    link.status = "reauth_required"
    session.add(link)


async def on_revoked(session: AsyncSession, revoked: ConnectionRevoked, *, topic_prefix: str) -> None:
    """Relay's access ended: the link goes, running syncs stop, and the account's activities are erased
    when the provider's terms ask for it."""
    for run in await repository.close_open_sync_runs(session, revoked.connection_id):
        await syncs.announce_failure(session, run, "connection_gone", topic_prefix=topic_prefix)
    await repository.delete_link(session, revoked.connection_id)
    if revoked.erase_provider_data:
        erased = await storing.erase_account_activities(
            session, revoked.provider, revoked.provider_user_id, topic_prefix=topic_prefix
        )
        log.info("provider_activities_erased", provider=revoked.provider, activities=erased)


async def on_sync_requested(session: AsyncSession, requested: SyncRequested, settings: Settings) -> None:
    """The athlete asked for a sync from the app: it runs with the request's id, so that its events
    complete the record the connections service keeps."""
    if requested.provider not in READABLE_PROVIDERS:
        return
    now = datetime.now(UTC)
    since = requested.since or now - timedelta(days=settings.backfill_days_for(requested.provider))
    run = syncs.new_run(
        uuid.UUID(requested.sync_id),
        requested.connection_id,
        requested.user_id,
        requested.provider,
        requested.provider_user_id,
        trigger="manual",
        since=since,
        until=now,
    )
    await syncs.schedule(session, run)
