"""Use cases of the audit service."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import repository
from relay_contracts import Envelope


def payload_digest(envelope: Envelope) -> str:
    canonical = json.dumps(envelope.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def trace_id_of(envelope: Envelope) -> str | None:
    return envelope.traceparent.split("-")[1] if envelope.traceparent else None


async def record_event(session: AsyncSession, envelope: Envelope) -> None:
    """Appends the event to the audit trail: who did what to which entity, when, under which trace,
    with a digest of the payload rather than the payload itself."""
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
