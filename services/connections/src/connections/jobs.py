"""The connections service's scheduled jobs: refresh tokens ahead of expiry, renew expiring provider
subscriptions, warn athletes before a connection breaks, confirm the deauthorizations a provider could
not confirm yet, forget stale link attempts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.deauthorizations import confirm_unconfirmed_deauthorizations
from connections.events import publish
from connections.models import ProviderConnection, ProviderSubscription
from connections.providers.base import ProviderUnavailable
from connections.refresh import refresh_expiring_tokens
from relay_contracts.catalog import CONNECTIONS_CONNECTION_EXPIRING
from relay_contracts.events.connections import ConnectionExpiring
from relay_platform.jobs import ScheduledJob
from relay_platform.logging import get_logger
from relay_platform.service import Runtime

if TYPE_CHECKING:
    from connections.resources import Connections

log = get_logger(__name__)

OURA = "oura"
WARNING_REPEAT = timedelta(days=7)
"""A warning is published again at most this often while its cause lasts."""

MESSAGES = {
    "legacy_oauth1": "Garmin is retiring the old way this link was made: link Garmin again to keep syncing.",
    "refresh_token_expiring": "This link expires soon: link the provider again to keep syncing.",
    "webhook_subscription_expiring": "New data from this provider may stop arriving: Relay is on it; "
    "linking again may help if it lasts.",
    "unused": "Nothing came through this link for a long time: check it, or disconnect it.",
}


def _due(connection: ProviderConnection, reason: str, now: datetime) -> bool:
    sent = connection.warnings_sent.get(reason)
    return sent is None or datetime.fromisoformat(sent) < now - WARNING_REPEAT


async def _warn(
    session: AsyncSession,
    connections: Connections,
    connection: ProviderConnection,
    reason: str,
    expires_at: datetime | None,
    now: datetime,
) -> bool:
    if not _due(connection, reason, now):
        return False
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_EXPIRING,
        ConnectionExpiring(
            connection_id=str(connection.id),
            user_id=connection.user_id,
            provider=connection.provider,
            reason=reason,  # type: ignore[arg-type]
            expires_at=expires_at,
            message=MESSAGES[reason],
        ),
        subject=connection.user_id,
    )
    connection.warnings_sent = {**connection.warnings_sent, reason: now.isoformat()}
    session.add(connection)
    log.info("connection_expiring", user_id=connection.user_id, provider=connection.provider, reason=reason)
    return True


async def warn_before_credentials_break(
    connections: Connections, sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Publishes `connections.connection.expiring` for links about to break: Garmin OAuth 1.0a links
    (retired), refresh tokens about to expire, Oura links whose webhook subscriptions are expiring, and
    links unused for long. Each warning at most weekly per connection."""
    now = now or datetime.now(UTC)
    settings = connections.settings
    horizon = now + timedelta(days=settings.warn_ahead_days)
    retirement = datetime.combine(date.fromisoformat(settings.garmin_oauth1_retirement), time(), UTC)
    unused_before = now - timedelta(days=settings.unused_after_days)
    warned = 0
    async with sessionmaker() as session, session.begin():
        notifications = await repository.last_notifications(session)
        expiring_subscription = min(
            (s.expires_at for s in await repository.subscriptions_expiring(session, OURA, horizon)),
            default=None,
        )
        for connection in await repository.active_connections(session, lock=True):
            if connection.auth_type == "oauth1":
                warned += await _warn(session, connections, connection, "legacy_oauth1", retirement, now)
            if connection.refresh_expires_at is not None and connection.refresh_expires_at < horizon:
                warned += await _warn(
                    session,
                    connections,
                    connection,
                    "refresh_token_expiring",
                    connection.refresh_expires_at,
                    now,
                )
            if connection.provider == OURA and expiring_subscription is not None:
                warned += await _warn(
                    session,
                    connections,
                    connection,
                    "webhook_subscription_expiring",
                    expiring_subscription,
                    now,
                )
            seen = [
                connection.linked_at,
                connection.last_used_at,
                connection.last_sync_at,
                notifications.get((connection.provider, connection.provider_user_id)),
            ]
            if max(at for at in seen if at is not None) < unused_before:
                warned += await _warn(session, connections, connection, "unused", None, now)
    return warned


async def renew_expiring_subscriptions(
    connections: Connections, sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Renews Oura's webhook subscriptions that expire within the warning horizon and records them all;
    one that cannot be renewed stays recorded as expiring, and the warning job tells its athletes."""
    client = connections.oura_subscriptions
    if client is None:
        return 0
    now = now or datetime.now(UTC)
    horizon = now + timedelta(days=connections.settings.warn_ahead_days)
    subscriptions = await client.list()
    renewed = 0
    async with sessionmaker() as session, session.begin():
        await repository.delete_subscriptions_except(session, OURA, [s.id for s in subscriptions])
        for subscription in subscriptions:
            error, renewed_at = None, None
            if subscription.expires_at < horizon:
                try:
                    subscription = await client.renew(subscription.id)
                    renewed, renewed_at = renewed + 1, now
                except ProviderUnavailable as exc:
                    error = exc.message
                    log.warning("subscription_renewal_failed", provider=OURA, subscription_id=subscription.id)
            await repository.save_subscription(
                session,
                ProviderSubscription(
                    provider=OURA,
                    subscription_id=subscription.id,
                    data_type=subscription.data_type,
                    event_type=subscription.event_type,
                    expires_at=subscription.expires_at,
                    renewed_at=renewed_at,
                    last_error=error,
                ),
            )
    return renewed


async def forget_stale_link_attempts(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await repository.delete_link_attempts_before(session, datetime.now(UTC) - timedelta(hours=1))


def scheduled_jobs(runtime: Runtime) -> list[ScheduledJob]:
    """The connections service's jobs (`relay_platform.jobs`), on the service's open clients."""
    connections: Connections = runtime.resources
    settings = connections.settings
    sessionmaker = runtime.sessionmaker
    return [
        ScheduledJob(
            "refresh-expiring-tokens",
            "Refresh access tokens about to expire",
            settings.refresh_cron,
            lambda: refresh_expiring_tokens(connections, sessionmaker),
        ),
        ScheduledJob(
            "renew-expiring-subscriptions",
            "Renew webhook subscriptions about to expire",
            settings.warnings_cron,
            lambda: renew_expiring_subscriptions(connections, sessionmaker),
        ),
        ScheduledJob(
            "warn-before-credentials-break",
            "Warn athletes whose links are about to break",
            settings.warnings_cron,
            lambda: warn_before_credentials_break(connections, sessionmaker),
        ),
        ScheduledJob(
            "confirm-deauthorizations",
            "Confirm with providers the deauthorizations they could not confirm yet",
            "* * * * *",
            lambda: confirm_unconfirmed_deauthorizations(connections, sessionmaker),
        ),
        ScheduledJob(
            "forget-stale-link-attempts",
            "Forget link attempts older than an hour",
            "30 * * * *",
            lambda: forget_stale_link_attempts(sessionmaker),
        ),
    ]
