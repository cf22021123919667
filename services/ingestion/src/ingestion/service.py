"""Use cases of the ingestion service."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion import repository
from ingestion.models import ApiKey, BridgeUpload
from relay_contracts.catalog import INGESTION_API_KEY_USED
from relay_contracts.events.connections import ConnectionRevoked
from relay_contracts.events.identity import ApiKeyCreated, ApiKeyRevoked, UserDeleted
from relay_contracts.events.ingestion import ApiKeyUsed
from relay_contracts.events.planning import SessionCompleted
from relay_platform.errors import Forbidden, InvalidInput, Unauthorized
from relay_platform.logging import get_logger
from relay_platform.outbox import add_event, forget_published

log = get_logger(__name__)

API_KEY_FORMAT = re.compile(r"qt_[A-Za-z0-9_-]{43}")
"""`qt_` and 32 random bytes in url-safe base64 without padding."""
API_KEY_USE_REPORT_INTERVAL = timedelta(minutes=1)


def confirm_strava_subscription(mode: str, verify_token: str, challenge: str, expected_token: str) -> str:
    """Strava's subscription check: echo the challenge only to whoever knows our verify token."""
    if mode != "subscribe":
        raise InvalidInput("hub.mode must be 'subscribe'", details={"field": "hub.mode", "reason": "invalid"})
    if not hmac.compare_digest(verify_token.encode(), expected_token.encode()):
        raise Forbidden("Unknown verify token", details={"field": "hub.verify_token"})
    return challenge


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# -- API keys of the bridge apps -------------------------------------------------------------------


def api_key_digest(key: str) -> str:
    """What identity publishes for a key and what a presented key is looked up by."""
    return hashlib.sha256(key.encode()).hexdigest()


async def record_api_key_created(session: AsyncSession, created: ApiKeyCreated) -> None:
    await repository.insert_api_key(
        session,
        ApiKey(
            api_key_id=created.api_key_id,
            user_id=created.user_id,
            key_sha256=created.key_sha256.lower(),
            prefix=created.prefix,
        ),
    )


async def record_api_key_revoked(session: AsyncSession, revoked: ApiKeyRevoked) -> None:
    known = await repository.revoke_api_key(session, revoked.api_key_id, revoked.user_id, revoked.revoked_at)
    if not known:
        # Created before this service kept keys (older than the topic's retention): it was never
        # usable here, so there is nothing to revoke.
        log.info("unknown_api_key_revoked", api_key_id=revoked.api_key_id)


async def verify_api_key(session: AsyncSession, presented: str | None) -> ApiKey:
    """The key a bridge app presented, or `Unauthorized`: missing, malformed, unknown or revoked.
    The key is looked up by its SHA-256: a digest of a 256-bit random key reveals nothing through
    timing, and identity is not asked on each request."""
    if not presented:
        raise Unauthorized("Missing API key", details={"header": "X-API-Key"})
    if API_KEY_FORMAT.fullmatch(presented) is None:
        raise Unauthorized("Invalid or revoked API key", details={"header": "X-API-Key"})
    key = await repository.get_api_key_by_digest(session, api_key_digest(presented))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("Invalid or revoked API key", details={"header": "X-API-Key"})
    return key


async def record_api_key_use(session: AsyncSession, key: ApiKey, at: datetime, *, topic_prefix: str) -> bool:
    """Records that the key was used at `at`, and stages `ingestion.api_key.used` unless it was already
    reported within the last minute; returns whether it was reported."""
    if not await repository.claim_use_report(session, key.api_key_id, at, API_KEY_USE_REPORT_INTERVAL):
        return False
    used = ApiKeyUsed(api_key_id=key.api_key_id, user_id=key.user_id, used_at=at)
    await add_event(
        session, INGESTION_API_KEY_USED.envelope(used, subject=key.user_id), topic_prefix=topic_prefix
    )
    return True


# -- Uploads of the bridge apps --------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _has_nul(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def read_bridge_payload(body: bytes) -> dict[str, Any]:
    """The upload as a JSON object, or `InvalidInput` (not JSON, not an object, or holding what
    PostgreSQL's JSONB cannot store: NaN, Infinity, NUL characters)."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            "The body is not valid JSON", details={"field": "body", "reason": "invalid_json"}
        ) from exc
    if not isinstance(payload, dict):
        raise InvalidInput(
            "The body must be a JSON object", details={"field": "body", "reason": "not_an_object"}
        )
    if _has_nul(payload):
        raise InvalidInput(
            "The body contains a NUL character", details={"field": "body", "reason": "nul_character"}
        )
    return payload


async def accept_bridge_upload(
    session: AsyncSession,
    key: ApiKey,
    payload: dict[str, Any],
    *,
    topic_prefix: str,
    at: datetime | None = None,
) -> uuid.UUID:
    """Stores a bridge app's upload for the key's athlete and records the key's use, in the caller's
    transaction; returns the upload's id. The same upload sent again is recognized by its fingerprint
    and answered with the id it already has."""
    at = at or datetime.now(UTC)
    upload_id = await repository.insert_bridge_upload(
        session,
        BridgeUpload(
            user_id=key.user_id, api_key_id=key.api_key_id, fingerprint=fingerprint(payload), payload=payload
        ),
    )
    await record_api_key_use(session, key, at, topic_prefix=topic_prefix)
    return upload_id


def bridge_workouts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The workouts of a Health Auto Export document (its metrics are not activities)."""
    data = payload.get("data")
    workouts = data.get("workouts") if isinstance(data, dict) else None
    return [w for w in workouts if isinstance(w, dict)] if isinstance(workouts, list) else []


# -- Erasure ---------------------------------------------------------------------------------------


async def record_session_match(session: AsyncSession, completed: SessionCompleted) -> None:
    """Planning completed a planned session with one of the athlete's activities: the activity shows it
    (`matched_session_id`). An activity of another athlete, or one no longer here, is left alone."""
    if completed.activity_id is None:
        return
    try:
        activity_id = uuid.UUID(completed.activity_id)
    except ValueError:
        log.warning("session_match_ignored", session_id=completed.session_id, reason="not an activity id")
        return
    if not await repository.mark_session_matched(
        session, completed.user_id, activity_id, completed.session_id
    ):
        log.info("session_match_ignored", session_id=completed.session_id, reason="no such activity")


def erased_subjects(deleted: UserDeleted) -> list[str]:
    """The event keys under which the athlete's events were published."""
    subjects = [deleted.user_id]
    if deleted.strava_athlete_id:
        subjects.append(f"strava:{deleted.strava_athlete_id}")
    return subjects


async def erase_athlete(session: AsyncSession, deleted: UserDeleted) -> None:
    """Deletes everything this service holds about an athlete who deleted their account, and the
    already relayed events about them."""
    await repository.delete_athlete_rows(session, deleted.user_id, deleted.strava_athlete_id or None)
    await repository.delete_athlete_activity_rows(session, deleted.user_id)
    await forget_published(session, erased_subjects(deleted))
    log.info("athlete_erased", user_id=deleted.user_id)


async def erase_provider_account(session: AsyncSession, revoked: ConnectionRevoked) -> None:
    """The athlete disconnected a provider, or withdrew Relay's access there: what that account sent is
    deleted when the provider's terms ask for it (Strava's do), with the events relayed about it."""
    if not revoked.erase_provider_data:
        return
    await repository.delete_provider_account_rows(
        session, revoked.user_id, revoked.provider, revoked.provider_user_id
    )
    await forget_published(session, [f"{revoked.provider}:{revoked.provider_user_id}"])
    log.info(
        "provider_data_erased", user_id=revoked.user_id, provider=revoked.provider, reason=revoked.reason
    )
