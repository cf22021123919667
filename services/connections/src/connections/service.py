"""Use cases of the connections service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from relay_contracts.events.ingestion import WebhookReceived


def is_deauthorization(notification: WebhookReceived) -> bool:
    """Strava tells that an athlete revoked Relay's access as an athlete update `authorized: "false"`."""
    return (
        notification.object_type == "athlete"
        and str(notification.updates.get("authorized", "")).lower() == "false"
    )


async def record_provider_notification(session: AsyncSession, notification: WebhookReceived) -> None:
    await repository.count_provider_notification(
        session,
        notification.provider,
        notification.owner_id,
        notification.event_time,
        deauthorized=is_deauthorization(notification),
    )
