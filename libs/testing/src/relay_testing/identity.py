"""A fake of the identity service as other services meet it: its public keys
(`/.well-known/jwks.json`), athletes' access tokens and operators' `admin_session` cookies signed with
them (ES256, the claims identity puts in), and the internal Strava-grant claim
(`POST /internal/strava-grants/{id}/claim`, each grant once, to the right bearer token)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from relay_platform.auth import ADMIN_SESSION_COOKIE, CSRF_HEADER
from relay_platform.config import ServiceSettings
from relay_platform.service import KeySourceFactory

ISSUER = "relay-identity"
AUDIENCE = "relay-api"
ADMIN_AUDIENCE = "relay-admin"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": {}}}, status_code=status)


@dataclass
class FakeIdentity:
    internal_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: list[str] = field(default_factory=list)
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    _key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    app: FastAPI = field(default_factory=FastAPI)
    url: str = ""

    def __post_init__(self) -> None:
        @self.app.get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
            return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

        @self.app.post("/internal/strava-grants/{strava_grant_id}/claim")
        async def claim(strava_grant_id: str, authorization: Annotated[str, Header()] = "") -> JSONResponse:
            if not hmac.compare_digest(authorization, f"Bearer {self.internal_token}"):
                return _error(401, "unauthorized", "Unknown internal caller")
            self.claims.append(strava_grant_id)
            grant = self.grants.pop(strava_grant_id, None)
            if grant is None:
                return _error(404, "not_found", "No such unclaimed Strava grant")
            return JSONResponse(grant)

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def issue(self, grant: dict[str, Any]) -> None:
        """Makes a Strava grant claimable once (identity's answer to the claim)."""
        self.grants[grant["strava_grant_id"]] = grant

    def access_token(self, user_id: str, *, strava_id: str | None = None, ttl_seconds: int = 900) -> str:
        """An athlete's access token as identity signs it."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "sid": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ttl_seconds,
            **({"strava_id": strava_id} if strava_id else {}),
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})

    def admin_session(self, admin_id: str, role: str, *, ttl_seconds: int = 8 * 3600) -> tuple[str, str]:
        """An operator's `admin_session` cookie as identity signs it at login, and the CSRF token whose
        SHA-256 it carries (to send back in `X-CSRF-Token` on state-changing calls)."""
        csrf_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": ADMIN_AUDIENCE,
            "sub": admin_id,
            "role": role,
            "sid": f"ads_{uuid.uuid4().hex}",
            "csrf": hashlib.sha256(csrf_token.encode()).hexdigest(),
            "iat": now,
            "exp": now + ttl_seconds,
        }
        cookie = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})
        return cookie, csrf_token

    def admin_headers(self, admin_id: str, role: str, *, csrf: bool = True) -> dict[str, str]:
        """What an operator's browser sends: the `admin_session` cookie and, unless `csrf` is false, the
        session's CSRF token."""
        cookie, csrf_token = self.admin_session(admin_id, role)
        headers = {"Cookie": f"{ADMIN_SESSION_COOKIE}={cookie}"}
        if csrf:
            headers[CSRF_HEADER] = csrf_token
        return headers

    async def public_keys(self) -> dict[str, Any]:
        """The key set as identity serves it, read through its app in memory."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
            keys: dict[str, Any] = (await client.get("/.well-known/jwks.json")).json()
            return keys

    def key_source(self) -> KeySourceFactory:
        """What `create_service_app(key_source=...)` takes: the service verifies tokens with these keys."""

        def factory(engine: AsyncEngine, settings: ServiceSettings) -> Any:
            return self.public_keys

        return factory

    def bearer(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token(user_id)}"}
