"""Shared by the platform's integration tests: a client of the real Redis, and identity's signing key
with a verifier that trusts it."""

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from redis.asyncio import Redis

from relay_platform.auth import AccessTokenVerifier, SessionRevocations
from relay_testing.plugin import Infrastructure

KID = "2026-01"
ISSUER, AUDIENCE, ADMIN_AUDIENCE = "relay-identity", "relay-api", "relay-admin"
SignAccessToken = Callable[..., str]


@pytest.fixture
async def redis(infrastructure: Infrastructure) -> AsyncIterator[Redis]:
    client = Redis.from_url(infrastructure.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def sign_access_token(signing_key: ec.EllipticCurvePrivateKey) -> SignAccessToken:
    """Signs an athlete's access token the way identity does; each call is a new session unless `sid`
    is given."""

    def sign(sub: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "sub": sub,
            "sid": f"session-{uuid.uuid4().hex}",
            "iat": now,
            "exp": now + 900,
            "aud": AUDIENCE,
            "iss": ISSUER,
            **claims,
        }
        return jwt.encode(payload, signing_key, algorithm="ES256", headers={"kid": KID})

    return sign


@pytest.fixture
def verifier(redis: Redis, signing_key: ec.EllipticCurvePrivateKey) -> AccessTokenVerifier:
    jwk = {**ECAlgorithm.to_jwk(signing_key.public_key(), as_dict=True), "kid": KID, "use": "sig"}

    async def key_source() -> dict[str, Any]:
        return {"keys": [jwk]}

    return AccessTokenVerifier(
        key_source=key_source,
        issuer=ISSUER,
        audience=AUDIENCE,
        admin_audience=ADMIN_AUDIENCE,
        revocations=SessionRevocations(redis),
    )
