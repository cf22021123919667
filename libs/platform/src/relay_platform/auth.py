"""Athletes' access tokens, verified the same way by every service.

Identity signs short-lived access JWTs (ES256, with a `kid`) and publishes its public keys at
`/.well-known/jwks.json`. A verifier caches that key set, fetches it again when a token names a key it
does not know (so a rotated key is picked up at once, with no restart), and refuses a token whose session
was revoked: identity writes revoked session ids to Redis for as long as their tokens could live.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from relay_platform.errors import Forbidden, Unauthorized
from relay_platform.logging import get_logger

log = get_logger(__name__)

ALGORITHM = "ES256"
REVOKED_SESSION_KEY = "relay:auth:revoked-session:{}"

KeySource = Callable[[], Awaitable[dict[str, Any]]]


class AccessClaims(BaseModel):
    """What an access token says: the athlete (`sub`), their Strava id, and the session it belongs to."""

    model_config = ConfigDict(extra="ignore")

    sub: str
    strava_id: str | None = None
    sid: str
    iat: int
    exp: int


class AdminClaims(BaseModel):
    """What an `admin_session` cookie says: the operator, their role, their session, and the SHA-256 of
    the CSRF token that must come back in `X-CSRF-Token` on every state-changing call."""

    model_config = ConfigDict(extra="ignore")

    sub: str
    role: str
    sid: str
    csrf: str
    iat: int
    exp: int


class SessionRevocations:
    """Revoked sign-in sessions, shared through Redis by every replica of every service."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke(self, session_id: str, *, for_seconds: int) -> None:
        await self._redis.set(REVOKED_SESSION_KEY.format(session_id), b"1", ex=max(1, for_seconds))

    async def is_revoked(self, session_id: str) -> bool:
        return bool(await self._redis.exists(REVOKED_SESSION_KEY.format(session_id)))


class AccessTokenVerifier:
    def __init__(
        self,
        *,
        key_source: KeySource,
        issuer: str,
        audience: str,
        admin_audience: str,
        revocations: SessionRevocations,
        refetch_interval_seconds: float = 10.0,
        max_key_age_seconds: float = 300.0,
        leeway_seconds: int = 5,
    ) -> None:
        self._key_source = key_source
        self._issuer = issuer
        self._audience = audience
        self._admin_audience = admin_audience
        self._revocations = revocations
        self._refetch_interval = refetch_interval_seconds
        self._max_key_age = max_key_age_seconds
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = -float("inf")  # when the cached key set arrived
        self._attempted_at = -float("inf")  # when one was last asked for, whether or not it arrived
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> AccessClaims:
        """An athlete's access token's claims, or `Unauthorized`: malformed, forged, expired, for another
        audience or issuer, signed by an unknown key, or of a revoked session."""
        return AccessClaims.model_validate(await self._decode(token, self._audience))

    async def verify_admin(self, token: str) -> AdminClaims:
        """An `admin_session` cookie's claims, or `Unauthorized` (same checks, the back office's audience)."""
        return AdminClaims.model_validate(await self._decode(token, self._admin_audience))

    async def _decode(self, token: str, audience: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Malformed access token") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise Unauthorized("Access token is not signed the way Relay signs")
        key = await self._key(kid)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "sid", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired", details={"reason": "expired"}) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid access token", details={"reason": type(exc).__name__}) from exc
        if await self._revocations.is_revoked(str(payload["sid"])):
            raise Unauthorized("Session revoked", details={"reason": "revoked"})
        return payload

    async def _key(self, kid: str) -> Any:
        if kid not in self._keys or time.monotonic() - self._fetched_at > self._max_key_age:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("Access token signed by an unknown key", details={"reason": "unknown_kid"})
        return key

    async def _refresh(self) -> None:
        async with self._lock:
            # One fetch per interval, whoever asks: a burst of tokens with an unknown kid (forged, or just
            # rotated), the requests that queued on the lock while it was fetched, or a key source that is
            # down (the known keys keep working meanwhile).
            if time.monotonic() - self._attempted_at < self._refetch_interval:
                return
            self._attempted_at = time.monotonic()
            try:
                jwks = await self._key_source()
            except Exception as exc:
                log.warning("jwks_fetch_failed", error=str(exc))
                return
            keys: dict[str, Any] = {}
            for jwk in jwks.get("keys", []):
                if jwk.get("use", "sig") == "sig" and isinstance(jwk.get("kid"), str):
                    try:
                        keys[jwk["kid"]] = jwt.PyJWK.from_dict(jwk, algorithm=ALGORITHM).key
                    except (jwt.PyJWTError, ValueError) as exc:
                        # A key this verifier cannot use must not stop it from using the others.
                        log.warning("jwks_key_skipped", kid=jwk["kid"], error=str(exc))
            self._keys = keys
            self._fetched_at = time.monotonic()


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticated_athlete(request: Request) -> AccessClaims:
    """The athlete of the request's bearer token, or 401. The result is kept on the request so that
    the rate limiter and the endpoint verify a token once."""
    cached: AccessClaims | None = getattr(request.state, "athlete", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Missing bearer token")
    verifier: AccessTokenVerifier = request.app.state.runtime.auth
    claims = await verifier.verify(token)
    request.state.athlete = claims
    structlog.contextvars.bind_contextvars(user_id=claims.sub)
    return claims


CurrentAthlete = Annotated[AccessClaims, Depends(authenticated_athlete)]


ADMIN_SESSION_COOKIE = "admin_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_RANK = {"read_only": 0, "support": 1, "super_admin": 2}


async def authenticated_admin(request: Request) -> AdminClaims:
    """The operator of the request's `admin_session` cookie, or 401. A state-changing call must also
    send the session's CSRF token in `X-CSRF-Token` (403 otherwise): another site can make the browser
    send the cookie, but cannot read the token."""
    cached: AdminClaims | None = getattr(request.state, "admin", None)
    if cached is not None:
        return cached
    cookie = request.cookies.get(ADMIN_SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("Missing admin session")
    verifier: AccessTokenVerifier = request.app.state.runtime.auth
    claims = await verifier.verify_admin(cookie)
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        digest = hashlib.sha256(presented.encode()).hexdigest()
        if not presented or not hmac.compare_digest(digest, claims.csrf):
            raise Forbidden("Missing or wrong CSRF token", details={"header": CSRF_HEADER})
    request.state.admin = claims
    structlog.contextvars.bind_contextvars(admin_id=claims.sub)
    return claims


def require_role(minimum: str) -> Callable[[Request], Awaitable[AdminClaims]]:
    """A dependency letting through operators whose role is at least `minimum`
    (read_only < support < super_admin)."""
    needed = ROLE_RANK[minimum]

    async def dependency(request: Request) -> AdminClaims:
        claims = await authenticated_admin(request)
        if ROLE_RANK.get(claims.role, -1) < needed:
            raise Forbidden(f"This needs the {minimum} role", details={"role": claims.role})
        return claims

    return dependency


ReadOnlyAdmin = Annotated[AdminClaims, Depends(require_role("read_only"))]
SupportAdmin = Annotated[AdminClaims, Depends(require_role("support"))]
SuperAdmin = Annotated[AdminClaims, Depends(require_role("super_admin"))]
