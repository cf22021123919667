"""Providers' tokens at rest, under envelope encryption.

Each connection has its own data key (AES-256-GCM), fresh for every grant; the tokens are encrypted
with it, each bound to its athlete, provider and purpose, so a value copied to another row does not
open. The data key itself is sealed by the service's keyring, whose key id is stored with the row
(`key_id`): rotating the keyring only re-seals the small data keys (`reseal_tokens`), never needs the
tokens to leave the database, and rows sealed under the previous key keep opening meanwhile."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from connections.models import ProviderConnection
from connections.providers.base import Tokens
from relay_platform.crypto import Keyring, SealError

_NONCE_BYTES = 12


def token_context(provider: str, user_id: str, purpose: str) -> str:
    """What a sealed value is bound to: its athlete, provider and purpose (`access`, `refresh`, `secret`,
    `data_key`)."""
    return f"{provider}:{user_id}:{purpose}"


def seal_tokens(keyring: Keyring, connection: ProviderConnection, tokens: Tokens) -> None:
    """Seals `tokens` into `connection` under a fresh data key, replacing earlier ones."""
    data_key = AESGCM.generate_key(bit_length=256)

    def encrypt(token: SecretStr | None, purpose: str) -> str | None:
        if token is None:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        context = token_context(connection.provider, connection.user_id, purpose).encode()
        sealed = AESGCM(data_key).encrypt(nonce, token.get_secret_value().encode(), context)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    connection.access_token_sealed = encrypt(tokens.access_token, "access")
    connection.refresh_token_sealed = encrypt(tokens.refresh_token, "refresh")
    connection.token_secret_sealed = encrypt(tokens.token_secret, "secret")
    _wrap(keyring, connection, data_key)
    connection.access_expires_at = tokens.expires_at
    connection.refresh_expires_at = tokens.refresh_expires_at
    connection.scopes = list(tokens.scopes)


def open_tokens(keyring: Keyring, connection: ProviderConnection) -> Tokens | None:
    """The connection's tokens, or None when it holds none (revoked, or linked by API key);
    `SealError` if they were not sealed for this athlete and provider."""
    if connection.access_token_sealed is None:
        return None
    if connection.data_key_sealed is None:
        return _open_sealed_by_keyring(keyring, connection)
    data_key = _unwrap(keyring, connection)

    def decrypt(sealed: str | None, purpose: str) -> SecretStr | None:
        if sealed is None:
            return None
        context = token_context(connection.provider, connection.user_id, purpose).encode()
        try:
            raw = base64.urlsafe_b64decode(sealed)
            plain = AESGCM(data_key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context)
        except (InvalidTag, ValueError) as exc:  # ValueError: not base64, or too short for a nonce
            raise SealError("token does not open under its connection's data key") from exc
        return SecretStr(plain.decode())

    return _tokens(connection, decrypt)


def forget_tokens(connection: ProviderConnection) -> None:
    connection.access_token_sealed = None
    connection.refresh_token_sealed = None
    connection.token_secret_sealed = None
    connection.data_key_sealed = None
    connection.key_id = None
    connection.access_expires_at = None
    connection.refresh_expires_at = None


def reseal_tokens(keyring: Keyring, connection: ProviderConnection) -> bool:
    """Seals the connection's data key again under the keyring's active key; False when it already is."""
    if connection.key_id in (None, keyring.active_kid):
        return False
    if connection.data_key_sealed is None:
        tokens = _open_sealed_by_keyring(keyring, connection)
        if tokens is None:
            return False
        seal_tokens(keyring, connection, tokens)
        return True
    _wrap(keyring, connection, _unwrap(keyring, connection))
    return True


def _wrap(keyring: Keyring, connection: ProviderConnection, data_key: bytes) -> None:
    context = token_context(connection.provider, connection.user_id, "data_key")
    connection.data_key_sealed = keyring.seal(data_key, context=context)
    connection.key_id = keyring.active_kid


def _unwrap(keyring: Keyring, connection: ProviderConnection) -> bytes:
    assert connection.data_key_sealed is not None
    context = token_context(connection.provider, connection.user_id, "data_key")
    return keyring.open(connection.data_key_sealed, context=context)


def _open_sealed_by_keyring(keyring: Keyring, connection: ProviderConnection) -> Tokens | None:
    """Tokens stored before data keys existed, sealed by the keyring itself."""

    def open_(sealed: str | None, purpose: str) -> SecretStr | None:
        if sealed is None:
            return None
        context = token_context(connection.provider, connection.user_id, purpose)
        return SecretStr(keyring.open(sealed, context=context).decode())

    return _tokens(connection, open_)


def _tokens(connection: ProviderConnection, open_: Callable[[str | None, str], SecretStr | None]) -> Tokens:
    access_token = open_(connection.access_token_sealed, "access")
    assert access_token is not None
    return Tokens(
        access_token=access_token,
        refresh_token=open_(connection.refresh_token_sealed, "refresh"),
        expires_at=connection.access_expires_at,
        refresh_expires_at=connection.refresh_expires_at,
        scopes=list(connection.scopes),
        token_secret=open_(connection.token_secret_sealed, "secret"),
    )
