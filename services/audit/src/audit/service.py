"""Use cases of the audit trail.

The audit trail
---------------
The "trail" consumer records every event of every domain topic as one `audit_entries` row: its type,
the entity it is about, its subject (the envelope's key, usually the athlete), who caused it, the job
that ran it and how that went, when, under which trace, and a SHA-256 digest of its data. The data
itself is never kept. A poll's events are appended together, chained by hash (`audit.chain`).

Erasing an athlete
------------------
When an athlete deletes their account (`identity.user.deleted`), the trail records that event and, in
the same transaction, empties every entry about them: whose subject is their user id or
`strava:<strava_athlete_id>`, or whose entity or actor is one of those; the dead-lettered messages
keyed by them are deleted. The emptied entries keep only
their place in the chain. One entry is kept whole, the one of the deletion itself: its event type, the
user id as its entity, when it happened, the digest of its data and how many entries it erased. It
proves that the erasure happened and when, and holds nothing beyond the id of an account that no
longer exists.

Identity's events about one athlete come in order (one partition per subject), so nothing identity
published before the deletion is recorded after it. Other services' topics are consumed independently
and can lag behind: an event about the athlete published before their deletion may arrive after it.
Such an event is not recorded when its subject is the erased user id (the kept entry says so); one keyed
by the Strava id cannot be recognized, because the Strava id is precisely what is not kept.

Retention
---------
Entries older than `retention_days` are pruned from the head of the chain by a daily job; the chain
then starts from an anchor holding the last pruned entry's chain hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import repository
from audit.chain import GENESIS, BrokenLink, Verification, chain_hash, content_hash
from audit.models import AuditEntry, ChainAnchor
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


def entry_fields(envelope: Envelope) -> dict[str, Any]:
    """What the trail keeps of an event: who did what to which entity, when, under which trace, with a
    digest of the payload rather than the payload itself."""
    data = envelope.data
    actor_value = data.get("actor")
    actor: dict[str, Any] = actor_value if isinstance(actor_value, dict) else {}
    return {
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
        "erased_entries": None,
    }


async def record_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> int:
    """Appends a poll's events to the trail in their order, in the caller's transaction; an athlete's
    deletion among them erases them at that point. Events already recorded and events about an erased
    athlete are left out. Returns how many entries were appended."""
    known = await repository.known_event_ids(session, [envelope.id for envelope in envelopes])
    erased = await repository.erased_among(session, list({envelope.subject for envelope in envelopes}))
    pending: list[dict[str, Any]] = []
    appended = 0
    for envelope in envelopes:
        if envelope.id in known:
            continue
        if envelope.type == IDENTITY_USER_DELETED.type:
            appended += await append_entries(session, pending) + 1
            pending = []
            erased.add(await _erase_athlete(session, envelope))
        elif envelope.subject in erased:
            log.info("event_of_erased_athlete_not_recorded", event_type=envelope.type)
        else:
            pending.append(entry_fields(envelope))
    return appended + await append_entries(session, pending)


async def append_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Chains `rows` (`entry_fields`) after the trail's last entry and appends them."""
    if not rows:
        return 0
    previous = await repository.lock_chain_head(session)
    for row in rows:
        row["content_hash"] = content_hash(row)
        row["chain_hash"] = previous = chain_hash(previous, row["content_hash"])
    await repository.insert_entries(session, rows)
    return len(rows)


def erased_subjects(deleted: UserDeleted) -> list[str]:
    """The keys under which the athlete's events were published."""
    subjects = [deleted.user_id]
    if deleted.strava_athlete_id:
        subjects.append(f"strava:{deleted.strava_athlete_id}")
    return subjects


async def _erase_athlete(session: AsyncSession, envelope: Envelope) -> str:
    """Records `identity.user.deleted` with the number of entries it erases, empties those entries and
    forgets the already relayed events about the athlete; returns the erased user id."""
    deleted = UserDeleted.model_validate(envelope.data)
    subjects = erased_subjects(deleted)
    await repository.lock_chain_head(session)  # nothing about the athlete is appended meanwhile
    count = await repository.count_entries_about(session, subjects)
    await append_entries(session, [{**entry_fields(envelope), "erased_entries": count}])
    emptied = await repository.redact_entries_about(session, subjects, except_event_id=envelope.id)
    if emptied != count:  # the chain's lock makes this impossible; never leave an unaccounted erasure
        raise RuntimeError(f"erasure counted {count} entries but emptied {emptied}")
    dead_letters = await repository.delete_dead_letters_about(session, subjects)
    await forget_published(session, subjects)
    log.info(
        "athlete_erased", user_id=deleted.user_id, entries_erased=count, dead_letters_erased=dead_letters
    )
    return deleted.user_id


async def athlete_trail(session: AsyncSession, user_id: str, strava_id: str | None) -> list[AuditEntry]:
    subjects = [user_id, *([f"strava:{strava_id}"] if strava_id else [])]
    return await repository.entries_about(session, subjects)


async def verify_chain(session: AsyncSession) -> Verification:
    """Walks the whole trail in order and stops at the first broken link (see `audit.chain`)."""
    anchor = await repository.chain_anchor(session)
    previous = anchor.chain_hash if anchor else GENESIS
    entries = redacted = erased = 0
    first_seq = last_seq = None
    async for entry in repository.entries_in_order(session):
        assert entry.seq is not None
        first_seq = first_seq if first_seq is not None else entry.seq
        last_seq = entry.seq
        entries += 1
        broken = _check(entry, previous)
        if broken:
            return Verification(entries, first_seq, last_seq, previous, redacted, broken)
        redacted += entry.redacted_at is not None
        erased += entry.erased_entries or 0
        previous = entry.chain_hash
    carried = anchor.redacted_pruned_early if anchor else 0
    broken = None
    if last_seq is not None and redacted + carried != erased:
        broken = BrokenLink(last_seq, "redactions_unaccounted")
    return Verification(entries, first_seq, last_seq, previous, redacted, broken)


def _check(entry: AuditEntry, previous: str) -> BrokenLink | None:
    assert entry.seq is not None
    if entry.redacted_at is None and content_hash(entry.model_dump()) != entry.content_hash:
        return BrokenLink(entry.seq, "content_changed")
    if chain_hash(previous, entry.content_hash) != entry.chain_hash:
        return BrokenLink(entry.seq, "link_broken")
    return None


async def prune_expired(session: AsyncSession, cutoff: datetime, now: datetime) -> int:
    """Deletes the entries recorded before `cutoff` from the head of the chain, keeping the anchor the
    chain continues from; returns how many were deleted."""
    await repository.lock_chain_head(session)
    seq = await repository.last_seq_recorded_before(session, cutoff)
    if seq is None:
        return 0
    pruned = await repository.delete_entries_up_to(session, seq)
    anchor = await repository.chain_anchor(session)
    await repository.save_anchor(
        session,
        ChainAnchor(
            id=1,
            seq=seq,
            chain_hash=pruned.last_chain_hash,
            pruned_entries=(anchor.pruned_entries if anchor else 0) + pruned.entries,
            redacted_pruned_early=(anchor.redacted_pruned_early if anchor else 0)
            + pruned.redacted
            - pruned.erased_by_pruned,
            pruned_at=now,
        ),
    )
    log.info("audit_entries_pruned", entries=pruned.entries, up_to=seq)
    return pruned.entries
