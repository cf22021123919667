"""Kafka subscribers of the audit service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import service
from relay_contracts import DOMAIN_TOPICS, Envelope
from relay_contracts.catalog import IDENTITY_USER_DELETED
from relay_platform.consumers import Handler
from relay_platform.service import Runtime


async def on_any_event(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_event(session, envelope)


async def on_user_deleted(envelope: Envelope, session: AsyncSession) -> None:
    """Records the deletion and erases every other entry about the athlete in the same transaction.

    The entry of this event is the one kept: event type, the user id as entity, when it happened and
    the digest of its data, the minimal record that proves the erasure happened. It runs in the trail
    consumer itself, right after the deletion is recorded, so that the trail's order is the erasure's:
    identity's earlier events about the athlete (same partition, keyed by the user id) are already
    recorded, and so erased."""
    await service.record_athlete_deletion(session, envelope)


TRAIL_HANDLERS: dict[str, Handler] = {IDENTITY_USER_DELETED.type: on_user_deleted}


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe(
        "trail", tuple(t.name for t in DOMAIN_TOPICS), TRAIL_HANDLERS, default=on_any_event
    )
