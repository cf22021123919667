"""Strava's OAuth 2.0 endpoints, as identity uses them to sign athletes in (PROVIDERS.md, Strava).

Strava has no PKCE: the code is bound to Relay's client secret, and the sign-in to the app that started
it by the state and the app's own PKCE pair (see service.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from relay_platform.errors import InvalidInput, UpstreamError
from relay_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class StravaAthlete:
    id: str
    first_name: str | None
    last_name: str | None
    profile_picture: str | None


@dataclass(frozen=True)
class StravaTokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: list[str]

    def __repr__(self) -> str:  # never let a token reach a log line through a repr
        return f"StravaTokens(expires_at={self.expires_at.isoformat()}, scopes={self.scopes})"


@dataclass(frozen=True)
class StravaGrantResult:
    athlete: StravaAthlete
    tokens: StravaTokens


class StravaOAuth:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        authorize_url: str,
        token_url: str,
        scopes: str,
    ) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._authorize_url = authorize_url
        self._token_url = token_url
        self.scopes = scopes

    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "approval_prompt": "auto",
            "scope": self.scopes,
            "state": state,
        }
        return f"{self._authorize_url}?{urlencode(query)}"

    async def exchange_code(self, code: str, *, granted_scope: str | None) -> StravaGrantResult:
        """Trades an authorization code for tokens and the athlete. A code Strava refuses is the
        client's fault (400 `invalid_code`); anything else Strava does wrong is a 502 `strava_error`."""
        try:
            response = await self._client.post(
                self._token_url,
                data={
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "code": code,
                    "grant_type": "authorization_code",
                },
            )
        except httpx.HTTPError as exc:
            log.warning("strava_unreachable", error=type(exc).__name__)
            raise UpstreamError("Strava did not answer", code="strava_error") from exc
        if response.status_code == 400 and _refused_field(response) == "code":
            raise InvalidInput(
                "Strava refused the authorization code",
                code="invalid_code",
                details={"field": "code", "reason": "invalid"},
            )
        if response.status_code != 200:
            log.warning("strava_token_exchange_failed", status=response.status_code)
            raise UpstreamError(
                "Strava refused the sign-in", code="strava_error", details={"status": response.status_code}
            )
        return _grant(response.json(), granted_scope)


def _refused_field(response: httpx.Response) -> str | None:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return None
    return next((str(error.get("field")) for error in errors if isinstance(error, dict)), None)


def _grant(body: dict[str, Any], granted_scope: str | None) -> StravaGrantResult:
    try:
        athlete = body["athlete"]
        return StravaGrantResult(
            athlete=StravaAthlete(
                id=str(int(athlete["id"])),
                first_name=athlete.get("firstname"),
                last_name=athlete.get("lastname"),
                profile_picture=athlete.get("profile"),
            ),
            tokens=StravaTokens(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_at=datetime.fromtimestamp(int(body["expires_at"]), UTC),
                scopes=[scope for scope in (granted_scope or "").split(",") if scope],
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError("Strava answered something unexpected", code="strava_error") from exc
