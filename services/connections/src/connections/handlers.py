"""Kafka subscribers of the connections service."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import linking, service, syncs
from connections.resources import Connections, connections_of
from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_STRAVA_GRANT_ISSUED,
    IDENTITY_USER_DELETED,
    INGESTION_API_KEY_USED,
    INGESTION_SYNC_COMPLETED,
    INGESTION_SYNC_FAILED,
    INGESTION_SYNC_PROGRESSED,
    INGESTION_SYNC_STARTED,
    INGESTION_WEBHOOK_RECEIVED,
)
from relay_contracts.events.identity import StravaGrantIssued, UserDeleted
from relay_contracts.events.ingestion import (
    ApiKeyUsed,
    SyncCompleted,
    SyncFailed,
    SyncProgressed,
    SyncStarted,
    WebhookReceived,
)
from relay_contracts.topics import IDENTITY_EVENTS, INGESTION_EVENTS
from relay_platform.consumers import DeadLetter, Handler
from relay_platform.service import Runtime


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    await service.erase_athlete(session, UserDeleted.model_validate(envelope.data))


async def on_sync_started(envelope: Envelope, session: AsyncSession) -> None:
    await syncs.on_sync_started(session, SyncStarted.model_validate(envelope.data))


async def on_sync_progressed(envelope: Envelope, session: AsyncSession) -> None:
    await syncs.on_sync_progressed(session, SyncProgressed.model_validate(envelope.data))


async def on_sync_completed(envelope: Envelope, session: AsyncSession) -> None:
    await syncs.on_sync_completed(session, SyncCompleted.model_validate(envelope.data))


async def on_sync_failed(envelope: Envelope, session: AsyncSession) -> None:
    await syncs.on_sync_failed(session, SyncFailed.model_validate(envelope.data))


def ingestion_event_handlers(connections: Connections) -> Mapping[str, Handler]:
    async def on_webhook_received(envelope: Envelope, session: AsyncSession) -> None:
        await service.record_provider_notification(
            session, connections, WebhookReceived.model_validate(envelope.data)
        )

    async def on_api_key_used(envelope: Envelope, session: AsyncSession) -> None:
        await service.on_api_key_used(session, connections, ApiKeyUsed.model_validate(envelope.data))

    return {
        INGESTION_WEBHOOK_RECEIVED.type: on_webhook_received,
        INGESTION_API_KEY_USED.type: on_api_key_used,
        INGESTION_SYNC_STARTED.type: on_sync_started,
        INGESTION_SYNC_PROGRESSED.type: on_sync_progressed,
        INGESTION_SYNC_COMPLETED.type: on_sync_completed,
        INGESTION_SYNC_FAILED.type: on_sync_failed,
    }


def identity_event_handlers(connections: Connections) -> Mapping[str, Handler]:
    async def on_strava_grant_issued(envelope: Envelope, session: AsyncSession) -> None:
        issued = StravaGrantIssued.model_validate(envelope.data)
        try:
            await linking.claim_strava_grant(
                session, connections, issued.strava_grant_id, issued.user_id, issued.strava_athlete_id
            )
        except linking.MismatchedGrant as error:
            raise DeadLetter(str(error)) from error

    return {
        IDENTITY_STRAVA_GRANT_ISSUED.type: on_strava_grant_issued,
        IDENTITY_USER_DELETED.type: on_user_deleted,
    }


def subscribe(runtime: Runtime) -> None:
    connections = connections_of(runtime)
    # The consumer keeps its historical name: its committed offsets and processed ids stay valid.
    runtime.consumers.subscribe(
        "provider-notifications", (INGESTION_EVENTS.name,), ingestion_event_handlers(connections)
    )
    runtime.consumers.subscribe(
        "identity-events", (IDENTITY_EVENTS.name,), identity_event_handlers(connections)
    )
