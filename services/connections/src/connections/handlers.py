"""Kafka subscribers of the connections service."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import service
from connections.resources import Connections, connections_of
from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_STRAVA_GRANT_ISSUED,
    IDENTITY_USER_DELETED,
    INGESTION_WEBHOOK_RECEIVED,
)
from relay_contracts.events.identity import StravaGrantIssued, UserDeleted
from relay_contracts.events.ingestion import WebhookReceived
from relay_contracts.topics import IDENTITY_EVENTS, INGESTION_EVENTS
from relay_platform.consumers import DeadLetter, Handler
from relay_platform.service import Runtime


async def on_webhook_received(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_provider_notification(session, WebhookReceived.model_validate(envelope.data))


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    await service.erase_athlete(session, UserDeleted.model_validate(envelope.data))


def identity_event_handlers(connections: Connections) -> Mapping[str, Handler]:
    async def on_strava_grant_issued(envelope: Envelope, session: AsyncSession) -> None:
        issued = StravaGrantIssued.model_validate(envelope.data)
        try:
            await service.claim_strava_grant(session, connections.strava_grants, connections.keyring, issued)
        except service.MismatchedGrant as error:
            raise DeadLetter(str(error)) from error

    return {
        IDENTITY_STRAVA_GRANT_ISSUED.type: on_strava_grant_issued,
        IDENTITY_USER_DELETED.type: on_user_deleted,
    }


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe(
        "provider-notifications",
        (INGESTION_EVENTS.name,),
        {INGESTION_WEBHOOK_RECEIVED.type: on_webhook_received},
    )
    runtime.consumers.subscribe(
        "identity-events", (IDENTITY_EVENTS.name,), identity_event_handlers(connections_of(runtime))
    )
