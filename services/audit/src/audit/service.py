"""Use cases of the audit service.

The audit trail
---------------
The "trail" consumer records every event of every domain topic as one `audit_entries` row: its type,
the entity it is about, its subject (the envelope's key, usually the athlete), who caused it, when,
under which trace, and a SHA-256 digest of its data. The data itself is never kept.

Erasing an athlete
------------------
When an athlete deletes their account (`identity.user.deleted`), the trail records that event and, in
the same transaction, deletes every entry about them: whose subject is their user id or
`strava:<strava_athlete_id>`, or whose entity or actor is one of those. One entry is kept, the one of
the deletion itself: its event type, the user id as its entity, when it happened and the digest of its
data. It proves that the erasure happened and when, and holds nothing beyond the id of an account that
no longer exists.

Identity's events about one athlete come in order (one partition per subject), so nothing identity
published before the deletion is recorded after it. Other services' topics are consumed independently
and can lag behind: an event about the athlete published before their deletion may arrive after it.
Such an event is not recorded when its subject is the erased user id (the kept entry says so); one keyed
by the Strava id cannot be recognized, because the Strava id is precisely what is not kept.

Entries recorded before entries had a subject (revision 0002) are found by their entity and actor only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import repository
from relay_contracts import Envelope
from relay_contracts.catalog import IDENTITY_USER_DELETED
from relay_contracts.events.identity import UserDeleted
from relay_platform.logging import get_logger
from relay_platform.outbox import forget_published

log = get_logger(__name__)


def payload_digest(envelope: Envelope) -> str:
    canonical = json.dumps(envelope.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def trace_id_of(envelope: Envelope) -> str | None:
    return envelope.traceparent.split("-")[1] if envelope.traceparent else None


async def record_event(session: AsyncSession, envelope: Envelope) -> bool:
    """Appends the event to the audit trail: who did what to which entity, when, under which trace,
    with a digest of the payload rather than the payload itself. An event about an athlete who was
    already erased is not recorded; returns whether the event was recorded."""
    if envelope.type != IDENTITY_USER_DELETED.type and await is_erased(session, envelope.subject):
        log.info("event_of_erased_athlete_not_recorded")
        return False
    data = envelope.data
    actor_value = data.get("actor")
    actor: dict[str, Any] = actor_value if isinstance(actor_value, dict) else {}
    await repository.append_entry(
        session,
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "event_version": envelope.version,
            "entity_type": envelope.entity,
            "entity_id": str(data.get(f"{envelope.entity}_id") or envelope.subject),
            "subject": envelope.subject,
            "actor_type": actor.get("type", "system"),
            "actor_id": actor.get("id"),
            "producer": envelope.producer,
            "trigger_worker": data.get("worker"),
            "worker_status": data.get("worker_status"),
            "trace_id": trace_id_of(envelope),
            "payload_digest": payload_digest(envelope),
            "occurred_at": envelope.occurred_at,
        },
    )
    return True


async def is_erased(session: AsyncSession, user_id: str) -> bool:
    """Whether the trail erased this athlete: the entry of their deletion is what remains of them."""
    return await repository.has_entry(session, IDENTITY_USER_DELETED.type, user_id)


def erased_subjects(deleted: UserDeleted) -> list[str]:
    """The keys under which the athlete's events were published."""
    subjects = [deleted.user_id]
    if deleted.strava_athlete_id:
        subjects.append(f"strava:{deleted.strava_athlete_id}")
    return subjects


async def record_athlete_deletion(session: AsyncSession, envelope: Envelope) -> None:
    """Records `identity.user.deleted`, then erases every other entry about the athlete, in the caller's
    transaction, and forgets the already relayed events about them."""
    deleted = UserDeleted.model_validate(envelope.data)
    await record_event(session, envelope)
    subjects = erased_subjects(deleted)
    erased = await repository.delete_entries_about(session, subjects, except_event_id=envelope.id)
    await forget_published(session, subjects)
    log.info("athlete_erased", user_id=deleted.user_id, entries_erased=erased)
