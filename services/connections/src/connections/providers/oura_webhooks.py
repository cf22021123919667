"""Oura's webhook subscriptions: application-wide, per data type and event type, and they expire
(PROVIDERS.md, Oura). Listed and renewed with the application's own credentials (`x-client-id`,
`x-client-secret`), not an athlete's token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from connections.config import ProviderApp
from connections.providers.base import ProviderUnavailable
from relay_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Subscription:
    id: str
    data_type: str
    event_type: str
    expires_at: datetime


class OuraSubscriptions:
    def __init__(self, http: httpx.AsyncClient, app: ProviderApp) -> None:
        self._http = http
        self._app = app

    def _headers(self) -> dict[str, str]:
        return {
            "x-client-id": self._app.client_id,
            "x-client-secret": self._app.client_secret.get_secret_value(),
        }

    async def list(self) -> list[Subscription]:
        body = await self._call("GET", "/v2/webhook/subscription")
        if not isinstance(body, list):
            raise ProviderUnavailable("oura", "unexpected answer listing webhook subscriptions")
        return [_subscription(item) for item in body]

    async def renew(self, subscription_id: str) -> Subscription:
        return _subscription(await self._call("PUT", f"/v2/webhook/subscription/renew/{subscription_id}"))

    async def _call(self, method: str, path: str) -> object:
        url = f"{self._app.api_url.rstrip('/')}{path}"
        try:
            response = await self._http.request(method, url, headers=self._headers())
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                "oura", f"webhook subscriptions unreachable ({type(exc).__name__})"
            ) from exc
        log.info(
            "provider_call", provider="oura", endpoint=path.rsplit("/", 1)[0], status=response.status_code
        )
        if response.status_code != 200:
            raise ProviderUnavailable(
                "oura", f"webhook subscriptions answered {response.status_code}", status=response.status_code
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable("oura", "webhook subscriptions answered something unexpected") from exc


def _subscription(item: object) -> Subscription:
    try:
        assert isinstance(item, dict)
        return Subscription(
            id=str(item["id"]),
            data_type=str(item["data_type"]),
            event_type=str(item["event_type"]),
            expires_at=datetime.fromisoformat(str(item["expiration_time"]).replace("Z", "+00:00")),
        )
    except (AssertionError, KeyError, ValueError) as exc:
        raise ProviderUnavailable("oura", "a webhook subscription is malformed") from exc
