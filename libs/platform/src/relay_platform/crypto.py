"""Secrets at rest: AES-256-GCM under a keyring of named keys.

A keyring is configured as `kid:base64key[,kid:base64key...]`; the first key seals, every key opens, so a
new key can be put first while the data sealed under the old one is re-sealed in the background. A sealed
value names its key: `v1.<kid>.<base64url(nonce + ciphertext + tag)>`. The associated data binds a value
to the record it belongs to, so a sealed value copied into another record does not open.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SealError(ValueError):
    """A sealed value is malformed, names an unknown key, or was tampered with."""


def generate_key() -> str:
    """A fresh 256-bit key, base64-encoded, for a keyring entry."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes] = field(repr=False)  # never in a log line or a traceback
    active_kid: str

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid or "." in kid:
                raise ValueError("each keyring entry is kid:base64key (a kid without dots)")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError as exc:
                raise ValueError(f"key {kid!r} is not base64") from exc
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise ValueError("the keyring is empty")
        return cls(keys=keys, active_kid=order[0])

    def seal(self, plaintext: bytes, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_kid]).encrypt(nonce, plaintext, context.encode())
        return f"{_VERSION}.{self.active_kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, *, context: str) -> bytes:
        version, _, rest = sealed.partition(".")
        kid, _, payload = rest.partition(".")
        if version != _VERSION or kid not in self.keys:
            raise SealError("sealed value has an unknown format or key")
        try:
            raw = base64.urlsafe_b64decode(payload)
        except ValueError as exc:
            raise SealError("sealed value is not base64") from exc
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed value is too short")
        try:
            return AESGCM(self.keys[kid]).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise SealError("sealed value does not open under its key and context") from exc

    def key_id_of(self, sealed: str) -> str:
        version, _, rest = sealed.partition(".")
        kid, dot, _ = rest.partition(".")
        if version != _VERSION or not dot:
            raise SealError("sealed value has an unknown format")
        return kid

    def needs_resealing(self, sealed: str) -> bool:
        return self.key_id_of(sealed) != self.active_kid
