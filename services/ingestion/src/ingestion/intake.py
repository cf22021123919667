"""Verified webhook notifications made durable before they are acknowledged.

Each notification is stored for the worker (status `pending`) with its `ingestion.webhook.received`
event in the outbox, and the workers are woken when that commits. Webhooks arrive in bursts (a
provider's retries, a club's Sunday rides): `WebhookIntake` commits the notifications of every
request waiting at that moment in one transaction (a group commit), so that a burst costs a few
commits instead of one per request, and each request is answered only once its own notifications are
committed."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository
from ingestion.providers.base import Notification
from ingestion.service import fingerprint
from relay_contracts import Envelope
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.ingestion import WebhookReceived
from relay_platform.logging import get_logger
from relay_platform.outbox import add_events, traced

log = get_logger(__name__)

COALESCED_PROVIDERS = frozenset({"fitbit"})
"""Providers whose notifications name what changed but not the change: Fitbit sends the same
`{collectionType, date, ownerId, ...}` after every sync of a day. Such a notification is stored again
once the previous one about the same object has been started on, and is a no-op before that (the
stored one will read the object anyway)."""

MAX_GROUP = 500
"""Notifications committed together at most (a Garmin push alone can hold hundreds)."""


@dataclass(frozen=True)
class Arrival:
    """A notification as it will be stored: its id, the fingerprint a redelivery is recognized by,
    and its event, built in the request's context so that the event carries the request's trace."""

    notification: Notification
    id: uuid.UUID
    fingerprint: str
    received: Envelope


def arrivals(notifications: Sequence[Notification], received_at: datetime) -> list[Arrival]:
    prepared = []
    for notification in notifications:
        if notification.provider in COALESCED_PROVIDERS:
            # The same words again later are a new notification once the first has been started on.
            print_ = fingerprint({"payload": notification.payload, "received_at": received_at.isoformat()})
        else:
            print_ = fingerprint(notification.payload)
        notification_id = uuid.uuid4()
        received = WebhookReceived(
            provider=notification.provider,
            webhook_id=str(notification_id),
            object_type=notification.object_type,
            object_id=notification.object_id,
            aspect_type=notification.aspect_type,
            owner_id=notification.owner_id,
            event_time=notification.event_time,
            updates=dict(notification.updates),
        )
        envelope = INGESTION_WEBHOOK_RECEIVED.envelope(
            received, subject=f"{notification.provider}:{notification.owner_id}"
        )
        prepared.append(Arrival(notification, notification_id, print_, traced(envelope)))
    return prepared


async def store_arrivals(session: AsyncSession, batch: Sequence[Arrival], *, topic_prefix: str) -> list[bool]:
    """Stores the notifications and stages their events in the caller's transaction, then wakes the
    workers for when it commits. A redelivered notification (the same fingerprint) changes nothing.
    Returns, for each, whether it was new."""
    coalesced = set()
    for arrival in batch:
        n = arrival.notification
        if n.provider in COALESCED_PROVIDERS and await repository.lock_unstarted_notification(
            session, n.provider, n.owner_id, n.object_type, n.object_id
        ):
            coalesced.add(arrival.id)
    kept = [arrival for arrival in batch if arrival.id not in coalesced]
    stored = await repository.insert_notifications(
        session,
        [
            {
                "id": arrival.id,
                "provider": arrival.notification.provider,
                "fingerprint": arrival.fingerprint,
                "owner_id": arrival.notification.owner_id,
                "object_type": arrival.notification.object_type,
                "object_id": arrival.notification.object_id,
                "aspect_type": arrival.notification.aspect_type,
                "event_time": arrival.notification.event_time,
                "payload": arrival.notification.payload,
                "traceparent": arrival.received.traceparent,
            }
            for arrival in kept
        ],
    )
    if stored:
        await add_events(session, [a.received for a in kept if a.id in stored], topic_prefix=topic_prefix)
        await repository.notify_work(session)
    return [arrival.id in stored for arrival in batch]


async def accept_notifications(
    session: AsyncSession,
    notifications: Sequence[Notification],
    *,
    topic_prefix: str,
    at: datetime | None = None,
) -> int:
    """Stores verified notifications in the caller's transaction (`store_arrivals`); returns how many
    were new."""
    batch = arrivals(notifications, at or datetime.now(UTC))
    return sum(await store_arrivals(session, batch, topic_prefix=topic_prefix))


def _future() -> asyncio.Future[list[bool]]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Waiting:
    batch: list[Arrival]
    stored: asyncio.Future[list[bool]] = field(default_factory=_future)


class WebhookIntake:
    """Group commit of webhook notifications. A request adds its notifications and waits; one flush
    at a time commits everything waiting, and starts again while more has arrived meanwhile. When a
    group's transaction fails, its requests are committed one by one, so that only the request at
    fault fails. A request whose client hangs up is committed all the same (its redelivery is then a
    no-op)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, topic_prefix: str) -> None:
        self._sessionmaker = sessionmaker
        self._topic_prefix = topic_prefix
        self._waiting: deque[_Waiting] = deque()
        self._flushing: asyncio.Task[None] | None = None

    async def accept(self, notifications: Sequence[Notification]) -> int:
        """Returns once the notifications are committed: how many were new."""
        if not notifications:
            return 0  # only what Relay does not use (a sleep, a daily summary): nothing to store
        waiting = _Waiting(arrivals(notifications, datetime.now(UTC)))
        self._waiting.append(waiting)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="webhook-intake")
        return sum(await asyncio.shield(waiting.stored))

    async def _flush(self) -> None:
        while self._waiting:
            group: list[_Waiting] = []
            size = 0
            while self._waiting and (not group or size + len(self._waiting[0].batch) <= MAX_GROUP):
                group.append(self._waiting.popleft())
                size += len(group[-1].batch)
            await self._commit(group)

    async def _commit(self, group: list[_Waiting]) -> None:
        try:
            async with self._sessionmaker() as session, session.begin():
                stored = await store_arrivals(
                    session, [a for waiting in group for a in waiting.batch], topic_prefix=self._topic_prefix
                )
        except Exception as error:
            if len(group) > 1:
                log.warning("webhook_group_commit_failed", requests=len(group), error=type(error).__name__)
                for waiting in group:
                    await self._commit([waiting])
            elif not group[0].stored.done():
                group[0].stored.set_exception(error)
            return
        for waiting in group:
            stored, mine = stored[len(waiting.batch) :], stored[: len(waiting.batch)]
            if not waiting.stored.done():
                waiting.stored.set_result(mine)
