"""Athletes' access tokens, obtained from the connections service (which refreshes them first when
they are about to expire, and audits every handout). A token is reused until shortly before it
expires; a token the provider refused is forgotten so that the next call asks again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

REUSE_UNTIL_BEFORE_EXPIRY = timedelta(minutes=2)


@dataclass(frozen=True)
class IssuedToken:
    connection_id: str
    user_id: str
    access_token: str
    expires_at: datetime | None


class ConnectionUnusable(Exception):
    """The connection cannot give a token: gone (404) or not active (409: reauth_required, paused...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConnectionsUnavailable(Exception):
    """The connections service did not answer: try again later."""


class AccessTokens:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._cache: dict[tuple[str, str], IssuedToken] = {}

    async def for_account(self, provider: str, provider_user_id: str, purpose: str) -> IssuedToken:
        key = (provider, provider_user_id)
        cached = self._cache.get(key)
        if cached is not None and _still_good(cached):
            return cached
        try:
            response = await self._client.post(
                "/internal/access-tokens",
                json={"provider": provider, "provider_user_id": provider_user_id, "purpose": purpose},
            )
        except httpx.HTTPError as error:
            raise ConnectionsUnavailable(f"connections did not answer: {type(error).__name__}") from error
        if response.status_code in (404, 409):
            refusal = response.json().get("error", {})
            raise ConnectionUnusable(refusal.get("code", "unusable"), refusal.get("message", "unusable"))
        if response.status_code != 200:
            raise ConnectionsUnavailable(f"connections answered {response.status_code}")
        body = response.json()
        expires_at = datetime.fromisoformat(body["expires_at"]) if body.get("expires_at") else None
        issued = IssuedToken(body["connection_id"], body["user_id"], body["access_token"], expires_at)
        self._cache[key] = issued
        return issued

    def forget(self, provider: str, provider_user_id: str) -> None:
        self._cache.pop((provider, provider_user_id), None)


def _still_good(token: IssuedToken) -> bool:
    return token.expires_at is None or token.expires_at - REUSE_UNTIL_BEFORE_EXPIRY > datetime.now(UTC)
