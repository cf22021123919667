"""Athletes' access tokens, from the connections service (which refreshes them first when they are about
to expire and audits every handout), and the provider's refusal of one told back to it, so that the
athlete is asked to link the account again."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class IssuedToken:
    connection_id: str
    access_token: str


class NotConnected(Exception):
    """No usable connection: none (`connection_not_found`) or not active (`reauth_required`, paused...)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the connection cannot be used ({code})")
        self.code = code


class ConnectionsUnavailable(Exception):
    """The connections service did not answer: try again later."""


class Connections:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def access_token(self, user_id: str, provider: str) -> IssuedToken:
        response = await self._post(
            "/internal/access-tokens",
            {"provider": provider, "user_id": user_id, "purpose": "export_workout"},
        )
        if response.status_code in (404, 409):
            raise NotConnected(response.json().get("error", {}).get("code", "unusable"))
        if response.status_code != 200:
            raise ConnectionsUnavailable(f"connections answered {response.status_code}")
        body = response.json()
        return IssuedToken(connection_id=body["connection_id"], access_token=body["access_token"])

    async def report_rejected(self, connection_id: str, provider: str, reason: str) -> None:
        response = await self._post(
            "/internal/token-rejections",
            {"connection_id": connection_id, "provider": provider, "reason": reason},
        )
        if response.status_code not in (200, 404):
            raise ConnectionsUnavailable(f"connections answered {response.status_code}")

    async def _post(self, path: str, body: dict[str, str]) -> httpx.Response:
        try:
            return await self._client.post(path, json=body)
        except httpx.HTTPError as error:
            raise ConnectionsUnavailable(f"connections did not answer: {type(error).__name__}") from error
