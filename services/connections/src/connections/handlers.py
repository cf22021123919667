"""Kafka subscribers of the connections service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from connections import service
from relay_contracts import Envelope
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.ingestion import WebhookReceived
from relay_contracts.topics import INGESTION_EVENTS
from relay_platform.service import Runtime


async def on_webhook_received(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_provider_notification(session, WebhookReceived.model_validate(envelope.data))


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe(
        "provider-notifications",
        (INGESTION_EVENTS.name,),
        {INGESTION_WEBHOOK_RECEIVED.type: on_webhook_received},
    )
