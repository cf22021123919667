"""Identity's signing keys and the tokens it signs.

ES256 key pairs live in `signing_keys`, their private halves sealed under the service keyring. A new key is
published at once and signs only after `PUBLISH_BEFORE_SIGNING`, so every verifier can know it before the
first token it signed arrives; rotating retires the previous keys after the longest-lived token they
signed has expired. No token is refused because of a rotation.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from identity import repository
from identity.models import SigningKey
from relay_platform.auth import ALGORITHM
from relay_platform.crypto import Keyring

PUBLISH_BEFORE_SIGNING = timedelta(seconds=15)


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


def new_signing_key(keyring: Keyring) -> SigningKey:
    kid = f"{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
    public_jwk.update(kid=kid, use="sig", alg=ALGORITHM)
    return SigningKey(
        kid=kid,
        private_key_sealed=keyring.seal(pem, context=f"signing-key:{kid}"),
        public_jwk=public_jwk,
    )


class SigningKeys:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring, cache_seconds: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._keyring = keyring
        self._cache_seconds = cache_seconds
        self._active: ActiveKey | None = None
        self._loaded_at = -float("inf")

    async def ensure_one(self) -> None:
        """Creates the first key of a new installation (replicas starting together create one)."""
        async with self._sessionmaker() as session, session.begin():
            await repository.lock_signing_keys(session)
            if await repository.newest_signing_key(session) is None:
                await repository.add_signing_key(session, new_signing_key(self._keyring))

    async def rotate(self, *, retire_previous_after: timedelta) -> str:
        async with self._sessionmaker() as session, session.begin():
            await repository.lock_signing_keys(session)
            # The previous key keeps signing until the new one is published enough; it retires after that
            # plus the life of the last token it signs.
            retire_at = datetime.now(UTC) + PUBLISH_BEFORE_SIGNING + retire_previous_after
            await repository.retire_signing_keys(session, at=retire_at)
            key = new_signing_key(self._keyring)
            await repository.add_signing_key(session, key)
        self._loaded_at = -float("inf")
        return key.kid

    async def active(self) -> ActiveKey:
        # Other replicas pick a rotated key up within `cache_seconds`; both keys verify meanwhile.
        if self._active is None or time.monotonic() - self._loaded_at > self._cache_seconds:
            async with self._sessionmaker() as session:
                now = datetime.now(UTC)
                before = now - PUBLISH_BEFORE_SIGNING
                row = await repository.newest_published_signing_key(session, before=before, now=now)
                # The first key of a new installation signs at once: no verifier can know an older one.
                row = row or await repository.newest_signing_key(session)
            if row is None:
                raise RuntimeError("no signing key: identity has not finished starting")
            pem = self._keyring.open(row.private_key_sealed, context=f"signing-key:{row.kid}")
            private_key = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(private_key, ec.EllipticCurvePrivateKey)
            self._active = ActiveKey(row.kid, private_key)
            self._loaded_at = time.monotonic()
        return self._active

    async def jwks(self) -> dict[str, Any]:
        async with self._sessionmaker() as session:
            keys = await repository.published_signing_keys(session, now=datetime.now(UTC))
        return {"keys": [key.public_jwk for key in keys]}

    async def sign(self, claims: dict[str, Any]) -> str:
        key = await self.active()
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def opaque_token(prefix: str) -> str:
    """A bearer secret: 256 random bits, url-safe, with a prefix saying what it is."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"
