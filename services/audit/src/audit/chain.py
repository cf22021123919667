"""The audit trail's hash chain: what makes tampering with it detectable.

Each entry carries two SHA-256 digests. `content_hash` covers the entry's fields (`CHAINED_FIELDS`,
canonical JSON); `chain_hash` covers the previous entry's `chain_hash` followed by this entry's
`content_hash`. The first entry follows `GENESIS`, or, once old entries are pruned (retention), the
chain hash of the last pruned entry, kept in `audit_chain_anchor`. Changing a field of an entry breaks
its content hash; removing, inserting or reordering entries breaks the link of the entry after.

Erasing an athlete empties their entries' fields but keeps both digests (`redacted_at` set): the chain
still links, and the content hash, which covered the entry's random event id, tells nothing about what
was erased. Each deletion entry states how many entries it erased (`erased_entries`, part of its
content), so that emptying entries outside an erasure is detected too: the kept redacted entries must
match the kept deletions' counts, plus what the anchor says about pruned ones.

Verification (`audit.service.verify_chain`, the `verify` command, the daily `verify-chain` job) walks
the entries in order and reports the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

CHAINED_FIELDS = (
    "event_id",
    "event_type",
    "event_version",
    "entity_type",
    "entity_id",
    "subject",
    "actor_type",
    "actor_id",
    "producer",
    "trigger_worker",
    "worker_status",
    "trace_id",
    "payload_digest",
    "occurred_at",
    "erased_entries",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def content_hash(fields: Mapping[str, Any]) -> str:
    canonical = {name: _canonical(fields.get(name)) for name in CHAINED_FIELDS}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain_hash(previous: str, content: str) -> str:
    return hashlib.sha256(f"{previous}{content}".encode()).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    reason: str
    """`content_changed`: the entry's fields are not those it was recorded with; `link_broken`: the
    entry does not follow the one before it (an entry was removed, inserted or reordered before it);
    `redactions_unaccounted`: entries were emptied that no erasure accounts for."""


@dataclass(frozen=True)
class Verification:
    entries: int
    first_seq: int | None
    last_seq: int | None
    head: str
    """The chain hash of the last entry: publish it elsewhere to detect that the chain's end is cut."""
    redacted: int
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def summary(self) -> str:
        if self.broken:
            link = self.broken
            return f"broken at entry {link.seq} ({link.reason}) after checking {self.entries} entries"
        return (
            f"intact: {self.entries} entries ({self.redacted} erased) up to {self.last_seq}, head {self.head}"
        )
