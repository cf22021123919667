"""Use cases of the ingestion service."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository
from ingestion.models import ProviderNotification
from ingestion.schemas import StravaWebhookEvent
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.ingestion import WebhookReceived
from relay_platform.errors import Forbidden, InvalidInput, Unauthorized
from relay_platform.outbox import add_event


def confirm_strava_subscription(mode: str, verify_token: str, challenge: str, expected_token: str) -> str:
    """Strava's subscription check: echo the challenge only to whoever knows our verify token."""
    if mode != "subscribe":
        raise InvalidInput("hub.mode must be 'subscribe'", details={"field": "hub.mode", "reason": "invalid"})
    if not hmac.compare_digest(verify_token.encode(), expected_token.encode()):
        raise Forbidden("Unknown verify token", details={"field": "hub.verify_token"})
    return challenge


def fingerprint(payload: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def accept_strava_event(
    session: AsyncSession,
    event: StravaWebhookEvent,
    *,
    expected_subscription_id: int | None,
    topic_prefix: str,
) -> bool:
    """Stores a Strava notification and stages `ingestion.webhook.received` in the same transaction.
    A redelivered notification is recognized by its fingerprint and changes nothing; returns whether
    the notification was new."""
    if expected_subscription_id is not None and event.subscription_id != expected_subscription_id:
        raise Unauthorized("Unknown webhook subscription", details={"field": "subscription_id"})
    payload = event.model_dump(mode="json")
    notification = ProviderNotification(
        provider="strava",
        fingerprint=fingerprint(payload),
        owner_id=str(event.owner_id),
        object_type=event.object_type,
        object_id=str(event.object_id),
        aspect_type=event.aspect_type,
        event_time=datetime.fromtimestamp(event.event_time, UTC),
        payload=payload,
    )
    notification_id = await repository.insert_notification(session, notification)
    if notification_id is None:
        return False
    received = WebhookReceived(
        provider="strava",
        webhook_id=str(notification_id),
        object_type=event.object_type,
        object_id=str(event.object_id),
        aspect_type=event.aspect_type,
        owner_id=str(event.owner_id),
        event_time=notification.event_time,
        updates=event.updates,
    )
    envelope = INGESTION_WEBHOOK_RECEIVED.envelope(received, subject=f"strava:{event.owner_id}")
    await add_event(session, envelope, topic_prefix=topic_prefix)
    return True
