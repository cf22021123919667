"""Use cases of athletes: Strava sign-in, tokens, the account and its profile, API keys, deletion.

Sign-in: the app asks `GET /api/auth/strava` with its deep link, an optional state and, preferably, a PKCE
challenge (S256). Relay remembers the attempt (state hashed, 10 minutes, single use) and sends the athlete
to Strava; Strava sends the code back to the deep link; the app calls the callback with code, state and
its PKCE verifier. Strava itself has no PKCE, so the app's pair is what binds the callback to the app that
started the sign-in: a code intercepted on the way cannot be redeemed by anyone else.

Strava's tokens go to the connections service without crossing Kafka: they are sealed here (AES-GCM)
in `strava_grants`, `identity.strava_grant.issued` announces the grant by id, and connections claims the
tokens once through an authenticated internal call that deletes them here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from identity import repository
from identity.models import ApiKey, LoginAttempt, Profile, RefreshToken, Session, StravaGrant, User
from identity.resources import Identity
from identity.signing import new_id, opaque_token
from identity.strava import StravaGrantResult
from relay_contracts.catalog import (
    IDENTITY_API_KEY_CREATED,
    IDENTITY_API_KEY_REVOKED,
    IDENTITY_PROFILE_UPDATED,
    IDENTITY_SESSION_REVOKED,
    IDENTITY_STRAVA_GRANT_ISSUED,
    IDENTITY_USER_DELETED,
    IDENTITY_USER_REGISTERED,
    IDENTITY_USER_UPDATED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import (
    ApiKeyCreated,
    ApiKeyRevoked,
    ProfileUpdated,
    SessionRevocationReason,
    SessionRevoked,
    StravaGrantIssued,
    UserDeleted,
    UserRegistered,
    UserUpdated,
)
from relay_platform.auth import AccessClaims
from relay_platform.errors import InvalidInput, NotFound, Unauthorized
from relay_platform.outbox import add_event

REFRESH_TOKEN_PREFIX = "rt_"  # noqa: S105 - a prefix, not a secret
API_KEY_PREFIX = "qt_"
_URLSAFE = re.compile(r"^[A-Za-z0-9._~-]+$")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def _publish(session: AsyncSession, identity: Identity, spec: Any, data: Any, *, subject: str) -> None:
    await add_event(
        session, spec.envelope(data, subject=subject), topic_prefix=identity.settings.kafka_topic_prefix
    )


# Sign-in with Strava


async def start_strava_login(
    session: AsyncSession,
    identity: Identity,
    *,
    redirect_uri: str,
    state: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> str:
    """Remembers the attempt and answers the Strava authorization URL to send the athlete to."""
    if not any(redirect_uri.startswith(prefix) for prefix in identity.settings.redirect_uri_prefixes):
        raise InvalidInput(
            "redirect_uri is not one of Relay's apps",
            details={"field": "redirect_uri", "reason": "not_allowed"},
        )
    if state is not None and not (16 <= len(state) <= 256 and _URLSAFE.match(state)):
        raise InvalidInput(
            "state must be 16 to 256 URL-safe characters", details={"field": "state", "reason": "invalid"}
        )
    if code_challenge is not None:
        if (code_challenge_method or "S256") != "S256":
            raise InvalidInput(
                "Only the S256 PKCE method is accepted",
                details={"field": "code_challenge_method", "reason": "unsupported"},
            )
        if not (43 <= len(code_challenge) <= 128 and _URLSAFE.match(code_challenge)):
            raise InvalidInput(
                "code_challenge must be a base64url SHA-256",
                details={"field": "code_challenge", "reason": "invalid"},
            )
    state = state or opaque_token("")
    now = datetime.now(UTC)
    await repository.delete_expired_login_attempts(session, now=now)
    await repository.add_login_attempt(
        session,
        LoginAttempt(
            state_sha256=sha256_hex(state),
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            expires_at=now + timedelta(seconds=identity.settings.login_attempt_ttl_seconds),
        ),
    )
    return identity.strava.authorize_url(redirect_uri=redirect_uri, state=state)


@dataclass(frozen=True)
class SignedIn:
    user: User
    access_token: str
    refresh_token: str
    expires_at: int
    is_new_user: bool


async def complete_strava_login(
    session: AsyncSession,
    identity: Identity,
    *,
    code: str,
    state: str | None,
    code_verifier: str | None,
    granted_scope: str | None,
) -> SignedIn:
    """The callback: checks state and PKCE, trades the code with Strava, finds or creates the athlete,
    opens a session and hands Strava's tokens over. Any failure leaves nothing behind."""
    now = datetime.now(UTC)
    attempt = await repository.take_login_attempt(session, sha256_hex(state or ""), now=now)
    if attempt is None:
        raise InvalidInput(
            "Unknown, used or expired sign-in state", code="invalid_state", details={"field": "state"}
        )
    if attempt.code_challenge is not None and (
        code_verifier is None or s256(code_verifier) != attempt.code_challenge
    ):
        raise InvalidInput(
            "The PKCE code_verifier does not match the challenge",
            code="invalid_code_verifier",
            details={"field": "code_verifier"},
        )
    grant = await identity.strava.exchange_code(code, granted_scope=granted_scope)
    user, is_new = await _find_or_register(session, identity, grant, now=now)
    tokens = await _open_session(session, identity, user, now=now)
    await _hand_over_strava_tokens(session, identity, user, grant, now=now)
    return SignedIn(user, *tokens, is_new_user=is_new)


async def _find_or_register(
    session: AsyncSession, identity: Identity, grant: StravaGrantResult, *, now: datetime
) -> tuple[User, bool]:
    athlete = grant.athlete
    seen = {
        "first_name": athlete.first_name,
        "last_name": athlete.last_name,
        "profile_picture": athlete.profile_picture,
    }
    user = await repository.user_by_strava_id(session, athlete.id)
    if user is None:
        candidate = User(
            id=new_id("usr_"),
            strava_athlete_id=athlete.id,
            first_name=athlete.first_name,
            last_name=athlete.last_name,
            profile_picture=athlete.profile_picture,
        )
        if await repository.insert_user(session, candidate):
            await _publish(
                session,
                identity,
                IDENTITY_USER_REGISTERED,
                UserRegistered(
                    user_id=candidate.id,
                    strava_athlete_id=athlete.id,
                    registered_at=now,
                    actor=Actor(type="athlete", id=candidate.id),
                ),
                subject=candidate.id,
            )
        user = await repository.user_by_strava_id(session, athlete.id)
        assert user is not None
        return user, user.id == candidate.id
    changed = [field for field, value in seen.items() if value is not None and getattr(user, field) != value]
    updates: dict[str, Any] = {field: seen[field] for field in changed}
    await repository.update_user(
        session, user.id, last_active_at=now, **({"updated_at": now} | updates if changed else {})
    )
    if changed:
        await _publish(
            session,
            identity,
            IDENTITY_USER_UPDATED,
            UserUpdated(
                user_id=user.id,
                changed=changed,
                onboarding_completed=user.onboarding_completed,
                actor=Actor(type="athlete", id=user.id),
            ),
            subject=user.id,
        )
        for field in changed:
            setattr(user, field, seen[field])
    return user, False


async def _open_session(
    session: AsyncSession, identity: Identity, user: User, *, now: datetime
) -> tuple[str, str, int]:
    row = Session(id=new_id("ses_"), user_id=user.id)
    await repository.add_session(session, row)
    refresh_token = await _issue_refresh_token(session, identity, row.id, now=now)
    access_token, expires_at = await _issue_access_token(identity, user, row.id, now=now)
    return access_token, refresh_token, expires_at


async def _issue_refresh_token(
    session: AsyncSession, identity: Identity, session_id: str, *, now: datetime
) -> str:
    token = opaque_token(REFRESH_TOKEN_PREFIX)
    await repository.add_refresh_token(
        session,
        RefreshToken(
            token_sha256=sha256_hex(token),
            session_id=session_id,
            expires_at=now + timedelta(days=identity.settings.refresh_token_ttl_days),
        ),
    )
    return token


async def _issue_access_token(
    identity: Identity, user: User, session_id: str, *, now: datetime
) -> tuple[str, int]:
    settings = identity.settings
    issued_at = int(now.timestamp())
    expires_at = issued_at + settings.access_token_ttl_seconds
    claims = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": user.id,
        "strava_id": user.strava_athlete_id,
        "sid": session_id,
        "iat": issued_at,
        "exp": expires_at,
        "jti": new_id(""),
    }
    return await identity.signing.sign(claims), expires_at


async def _hand_over_strava_tokens(
    session: AsyncSession, identity: Identity, user: User, grant: StravaGrantResult, *, now: datetime
) -> None:
    grant_id = new_id("sg_")
    tokens = json.dumps(
        {"access_token": grant.tokens.access_token, "refresh_token": grant.tokens.refresh_token}
    ).encode()
    await repository.replace_strava_grant(
        session,
        StravaGrant(
            id=grant_id,
            user_id=user.id,
            strava_athlete_id=grant.athlete.id,
            tokens_sealed=identity.keyring.seal(tokens, context=f"strava-grant:{grant_id}"),
            scopes=grant.tokens.scopes,
            access_expires_at=grant.tokens.expires_at,
            claim_before=now + timedelta(seconds=identity.settings.strava_grant_claim_ttl_seconds),
        ),
    )
    await _publish(
        session,
        identity,
        IDENTITY_STRAVA_GRANT_ISSUED,
        StravaGrantIssued(
            strava_grant_id=grant_id,
            user_id=user.id,
            strava_athlete_id=grant.athlete.id,
            scopes=grant.tokens.scopes,
            access_expires_at=grant.tokens.expires_at,
        ),
        subject=user.id,
    )


async def claim_strava_grant(session: AsyncSession, identity: Identity, grant_id: str) -> dict[str, Any]:
    """Gives the sealed Strava tokens to connections, once: the grant is deleted as it is read."""
    grant = await repository.claim_strava_grant(session, grant_id, now=datetime.now(UTC))
    if grant is None:
        raise NotFound("No such unclaimed Strava grant", details={"strava_grant_id": grant_id})
    tokens = json.loads(identity.keyring.open(grant.tokens_sealed, context=f"strava-grant:{grant.id}"))
    return {
        "strava_grant_id": grant.id,
        "user_id": grant.user_id,
        "strava_athlete_id": grant.strava_athlete_id,
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": grant.access_expires_at.isoformat(),
        "scopes": grant.scopes,
    }


# Tokens


@dataclass(frozen=True)
class Refreshed:
    access_token: str
    refresh_token: str
    expires_at: int


class RefreshTokenReused(Exception):
    """A refresh token was presented twice: its session has been revoked (commit, then answer 401)."""


async def refresh(session: AsyncSession, identity: Identity, refresh_token: str) -> Refreshed:
    now = datetime.now(UTC)
    digest = sha256_hex(refresh_token)
    row = await repository.refresh_token_by_hash(session, digest)
    if row is None or row.expires_at <= now:
        raise Unauthorized("Unknown or expired refresh token")
    owner = await repository.session_by_id(session, row.session_id)
    if owner is None or owner.revoked_at is not None:
        raise Unauthorized("Session revoked", details={"reason": "revoked"})
    if not await repository.mark_refresh_token_used(session, digest, at=now):
        # Someone used this token already: either the athlete or a thief has a copy. End the session.
        await revoke_sessions(
            session, identity, owner.user_id, [owner.id], reason="refresh_token_reused", now=now
        )
        raise RefreshTokenReused
    user = await repository.user_by_id(session, owner.user_id)
    if user is None:
        raise Unauthorized("Unknown athlete")
    await repository.touch_session(session, owner.id, at=now)
    await repository.update_user(session, user.id, last_active_at=now)
    next_token = await _issue_refresh_token(session, identity, owner.id, now=now)
    access_token, expires_at = await _issue_access_token(identity, user, owner.id, now=now)
    return Refreshed(access_token, next_token, expires_at)


async def revoke_sessions(
    session: AsyncSession,
    identity: Identity,
    user_id: str,
    session_ids: list[str],
    *,
    reason: SessionRevocationReason,
    now: datetime,
    actor: Actor | None = None,
) -> None:
    """Ends these sessions: their refresh tokens stop working, and their access tokens are refused by
    every service from now on (Redis, for as long as such a token could live)."""
    if not session_ids:
        return
    await repository.revoke_sessions(session, session_ids, at=now, reason=reason)
    lifetime = identity.settings.access_token_ttl_seconds + 60
    for session_id in session_ids:
        await identity.revocations.revoke(session_id, for_seconds=lifetime)
        await _publish(
            session,
            identity,
            IDENTITY_SESSION_REVOKED,
            SessionRevoked(
                session_id=session_id,
                user_id=user_id,
                reason=reason,
                actor=actor or Actor(type="athlete", id=user_id),
            ),
            subject=user_id,
        )


async def logout(session: AsyncSession, identity: Identity, claims: AccessClaims) -> None:
    await revoke_sessions(session, identity, claims.sub, [claims.sid], reason="logout", now=datetime.now(UTC))


# The account and its profile


async def current_user(session: AsyncSession, claims: AccessClaims) -> tuple[User, Profile | None]:
    user = await repository.user_by_id(session, claims.sub)
    if user is None:
        raise Unauthorized("Unknown athlete")
    return user, await repository.profile_of(session, user.id)


async def update_profile(
    session: AsyncSession, identity: Identity, claims: AccessClaims, changes: dict[str, Any]
) -> Profile:
    """Applies the given fields (the others stay) and publishes the whole profile."""
    user, profile = await current_user(session, claims)
    now = datetime.now(UTC)
    profile = profile or Profile(id=new_id("prof_"), user_id=user.id)
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.updated_at = now
    await repository.save_profile(session, profile)
    await _publish(
        session,
        identity,
        IDENTITY_PROFILE_UPDATED,
        ProfileUpdated(
            user_id=user.id,
            birth_year=profile.birth_year,
            gender=profile.gender,  # type: ignore[arg-type]
            weight_kg=profile.weight_kg,
            experience_level=profile.experience_level,  # type: ignore[arg-type]
            weekly_hours_available=profile.weekly_hours_available,
            max_heart_rate=profile.max_heart_rate,
            ftp_watts=profile.ftp_watts,
            threshold_pace_seconds_per_km=profile.threshold_pace_seconds_per_km,
            swim_css_seconds_per_100m=profile.swim_css_seconds_per_100m,
            timezone=profile.timezone,
            updated_at=now,
            actor=Actor(type="athlete", id=user.id),
        ),
        subject=user.id,
    )
    return profile


async def delete_account(session: AsyncSession, identity: Identity, claims: AccessClaims) -> None:
    """Deletes the athlete here and tells every service to erase them (`identity.user.deleted`)."""
    user, _ = await current_user(session, claims)
    now = datetime.now(UTC)
    actor = Actor(type="athlete", id=user.id)
    sessions = await repository.active_session_ids(session, user.id)
    await revoke_sessions(
        session, identity, user.id, sessions, reason="account_deleted", now=now, actor=actor
    )
    await repository.delete_user(session, user.id)
    await _publish(
        session,
        identity,
        IDENTITY_USER_DELETED,
        UserDeleted(user_id=user.id, strava_athlete_id=user.strava_athlete_id, deleted_at=now, actor=actor),
        subject=user.id,
    )


# API keys


async def create_api_key(
    session: AsyncSession, identity: Identity, claims: AccessClaims, name: str
) -> tuple[ApiKey, str]:
    """A new key for a bridge app. The key is returned once; only its SHA-256 is kept and published."""
    user, _ = await current_user(session, claims)
    key = opaque_token(API_KEY_PREFIX)
    row = ApiKey(id=new_id("key_"), user_id=user.id, name=name, prefix=key[:8], key_sha256=sha256_hex(key))
    await repository.add_api_key(session, row)
    await _publish(
        session,
        identity,
        IDENTITY_API_KEY_CREATED,
        ApiKeyCreated(
            api_key_id=row.id,
            user_id=user.id,
            name=name,
            prefix=row.prefix,
            key_sha256=row.key_sha256,
            created_at=datetime.now(UTC),
            actor=Actor(type="athlete", id=user.id),
        ),
        subject=user.id,
    )
    return row, key


async def list_api_keys(session: AsyncSession, claims: AccessClaims) -> list[ApiKey]:
    return list(await repository.api_keys_of(session, claims.sub))


async def revoke_api_key(
    session: AsyncSession, identity: Identity, claims: AccessClaims, api_key_id: str
) -> None:
    now = datetime.now(UTC)
    if not await repository.revoke_api_key(session, claims.sub, api_key_id, at=now):
        # Another athlete's key and an unknown one look the same from here.
        if not await repository.api_key_exists(session, claims.sub, api_key_id):
            raise NotFound("No such API key", details={"api_key_id": api_key_id})
        return  # already revoked
    await _publish(
        session,
        identity,
        IDENTITY_API_KEY_REVOKED,
        ApiKeyRevoked(
            api_key_id=api_key_id,
            user_id=claims.sub,
            revoked_at=now,
            actor=Actor(type="athlete", id=claims.sub),
        ),
        subject=claims.sub,
    )
