"""What every provider integration offers the connections service, whatever the provider's dialect:
an authorization URL, a code exchange that ends with the athlete's account at the provider, a refresh
and a revocation. Failures are sorted so the service can act on them: the athlete's or the code's fault
(`AuthorizationRefused`), a grant the provider no longer honours (`RefreshRefused`), or the provider
failing (`ProviderUnavailable`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import SecretStr

AuthType = Literal["oauth2", "oauth2_pkce", "oauth1", "password", "api_key"]


class ProviderError(Exception):
    """Base of the failures of a call to a provider. Messages never quote a token or a password."""

    def __init__(self, provider: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.status = status


class AuthorizationRefused(ProviderError):
    """The provider refused the authorization code or the credentials (invalid, expired, already used,
    wrong password): the athlete has to start again."""


class RefreshRefused(ProviderError):
    """The provider refused the refresh token (revoked, expired, already used): the athlete must link
    the provider again."""


class ProviderUnavailable(ProviderError):
    """The provider failed (5xx, timeout, connection lost, unexpected answer) or rate-limited us: retry
    later."""


@dataclass(frozen=True)
class Tokens:
    """What a grant gives. `SecretStr` keeps the tokens out of every repr and log line."""

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_at: datetime | None = None
    """When the access token stops working; None when the provider does not say (Polar, COROS Training
    Hub, OAuth 1.0a)."""
    refresh_expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)
    token_secret: SecretStr | None = None
    """OAuth 1.0a only: the token secret that signs requests."""


@dataclass(frozen=True)
class LinkedAccount:
    """The athlete's account at the provider, as the code exchange (and its follow-up calls) found it."""

    provider_user_id: str
    tokens: Tokens
    username: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    """Display fields only (names, picture, locale): never a token, never an email unless the provider
    sent it as profile."""


class OAuthProvider(Protocol):
    """An OAuth 2.0 provider (PKCE where `uses_pkce`)."""

    key: str
    uses_pkce: bool

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str: ...

    async def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        user_id: str,
        granted_scope: str | None = None,
    ) -> LinkedAccount:
        """`user_id` is Relay's id of the athlete linking the account (Polar registers them under it);
        `granted_scope` is the `scope` the provider added to the callback, if any (Strava says there
        which scopes the athlete left ticked: its token answer does not)."""
        ...

    async def refresh(self, tokens: Tokens) -> Tokens:
        """New tokens. A provider that rotates refresh tokens answers a new one, which replaces the old;
        one that does not keeps the old one (returned as it was)."""
        ...

    async def revoke(self, tokens: Tokens, provider_user_id: str) -> bool:
        """Withdraws Relay's access at the provider. False when the provider has no way to do so."""
        ...

    async def honours(self, tokens: Tokens) -> bool:
        """Whether the provider still accepts the access token, asked with one cheap authenticated call:
        False when it refuses it (401: the grant was withdrawn, or the token expired). Raises
        `ProviderUnavailable` when the provider cannot tell now (failing, rate-limiting, unreachable)."""
        ...


class PasswordProvider(Protocol):
    """A provider linked by trading the athlete's email and password, once, for a token (COROS's
    Training Hub). The password is used for that one call and never kept."""

    key: str

    async def login(self, *, email: str, password: SecretStr) -> LinkedAccount: ...
