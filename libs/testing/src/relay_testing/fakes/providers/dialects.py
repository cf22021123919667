"""How each provider speaks OAuth: where its endpoints are, how the application proves who it is, how long
its tokens live, whether refresh tokens rotate, and the shape of its errors. The rest of the fake is
written once for all providers and asks this module for their differences."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

Provider = Literal["garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo"]
Target = Literal["garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo", "coros-hub"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
TARGETS: tuple[Target, ...] = get_args(Target)
COROS_HUB: Target = "coros-hub"

ClientAuth = Literal["form", "basic", "form_or_basic"]
UserIdKind = Literal["uuid", "int", "encoded", "hex"]
ErrorBody = Callable[[int, str, str], dict[str, Any]]

DAY_SECONDS = 24 * 60 * 60


class ProviderError(Exception):
    """An answer a provider gives with an error status; the app turns it into the JSON response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def _oauth(status: int, error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description}


def _oauth_terse_client(status: int, error: str, description: str) -> dict[str, Any]:
    # Oura, WHOOP and Wahoo describe a refused grant but not a refused client.
    return {"error": error} if status == 401 else _oauth(status, error, description)


def _oauth_terse(status: int, error: str, description: str) -> dict[str, Any]:
    return {"error": error}


def _fitbit(status: int, error: str, description: str) -> dict[str, Any]:
    return {"errors": [{"errorType": error, "message": description}], "success": False}


_COROS_RESULTS = {
    "invalid_grant": ("1008", "authorization code invalid"),
    "invalid_client": ("1007", "client invalid"),
    "server_error": ("5000", "Server error"),
}


def _coros(status: int, error: str, description: str) -> dict[str, Any]:
    result, message = _COROS_RESULTS.get(error, ("1001", description))
    return {"result": result, "message": message}


def _garmin_api(status: int, error: str, description: str) -> dict[str, Any]:
    return {"errorMessage": description}


def _polar_api(status: int, error: str, description: str) -> dict[str, Any]:
    """AccessLink's error schema."""
    return {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "status": status,
        "errorType": error,
        "message": description,
        "corrId": str(uuid.uuid4()),
    }


def _oura_api(status: int, error: str, description: str) -> dict[str, Any]:
    return {"detail": description}


@dataclass(frozen=True)
class Dialect:
    """One provider's OAuth 2.0 dialect. Paths are relative to the provider's prefix on the fake."""

    provider: Provider
    authorize_path: str
    token_path: str
    client_auth: ClientAuth
    access_seconds: int
    user_id_kind: UserIdKind
    oauth_error: ErrorBody
    api_error: ErrorBody
    pkce: bool = False
    scopes: str = ""
    """Scopes granted when the authorization asks for none (Garmin and COROS take no scope parameter)."""
    refresh_path: str | None = None
    """A refresh endpoint of its own (COROS); None: refreshes go to the token endpoint."""
    revoke_path: str | None = None
    """The revocation endpoint when it is not part of the API (COROS, Fitbit)."""
    refresh_seconds: int | None = None
    """How long a refresh token lives; None: until used, revoked or replaced."""
    refresh_token_scope: str | None = None
    """A refresh token is issued only when this scope is granted (WHOOP's `offline`)."""
    issues_refresh_token: bool = True
    rotates: bool = True
    min_state_length: int = 0

    @property
    def oauth_paths(self) -> frozenset[str]:
        paths = (self.authorize_path, self.token_path, self.refresh_path, self.revoke_path, "/oauth/revoke")
        return frozenset(p for p in paths if p)

    def error(self, path: str, status: int, error: str, description: str) -> dict[str, Any]:
        """The provider's error body for a request to `path`: its OAuth shape or its API's."""
        if path in self.oauth_paths:
            return self.oauth_error(status, error, description)
        return self.api_error(status, error, description)

    def oauth_failure(self, status: int, error: str, description: str) -> ProviderError:
        return ProviderError(status, self.oauth_error(status, error, description))

    def api_failure(self, status: int, error: str, description: str) -> ProviderError:
        headers = {"WWW-Authenticate": f'Bearer error="{error}"'} if status == 401 else {}
        return ProviderError(status, self.api_error(status, error, description), headers)


DIALECTS: dict[Provider, Dialect] = {
    "garmin": Dialect(
        provider="garmin",
        authorize_path="/oauth2Confirm",
        token_path="/di-oauth2-service/oauth/token",
        client_auth="form",
        access_seconds=86399,
        refresh_seconds=7775999,
        user_id_kind="uuid",
        pkce=True,
        scopes="PARTNER_WRITE PARTNER_READ CONNECT_READ CONNECT_WRITE",
        oauth_error=_oauth,
        api_error=_garmin_api,
    ),
    "coros": Dialect(
        provider="coros",
        authorize_path="/oauth2/authorize",
        token_path="/oauth2/accesstoken",
        refresh_path="/oauth2/refresh-token",
        revoke_path="/oauth2/deauthorize",
        client_auth="form",
        access_seconds=30 * DAY_SECONDS,
        user_id_kind="hex",
        rotates=False,
        oauth_error=_coros,
        api_error=_coros,
    ),
    "polar": Dialect(
        provider="polar",
        authorize_path="/oauth2/authorization",
        token_path="/v2/oauth2/token",
        client_auth="basic",
        access_seconds=315359999,
        user_id_kind="int",
        scopes="accesslink.read_all",
        issues_refresh_token=False,
        rotates=False,
        oauth_error=_oauth_terse,
        api_error=_polar_api,
    ),
    "oura": Dialect(
        provider="oura",
        authorize_path="/oauth/authorize",
        token_path="/oauth/token",
        client_auth="form_or_basic",
        access_seconds=DAY_SECONDS,
        user_id_kind="uuid",
        scopes="email personal daily heartrate workout session spo2",
        oauth_error=_oauth_terse_client,
        api_error=_oura_api,
    ),
    "whoop": Dialect(
        provider="whoop",
        authorize_path="/oauth/oauth2/auth",
        token_path="/oauth/oauth2/token",
        client_auth="form",
        access_seconds=3600,
        user_id_kind="int",
        scopes="offline read:profile read:workout read:recovery read:sleep read:cycles read:body_measurement",
        refresh_token_scope="offline",
        min_state_length=8,
        oauth_error=_oauth_terse_client,
        api_error=_oauth,
    ),
    "fitbit": Dialect(
        provider="fitbit",
        authorize_path="/oauth2/authorize",
        token_path="/oauth2/token",
        revoke_path="/oauth2/revoke",
        client_auth="basic",
        access_seconds=28800,
        user_id_kind="encoded",
        pkce=True,
        scopes="activity heartrate profile sleep",
        oauth_error=_fitbit,
        api_error=_fitbit,
    ),
    "wahoo": Dialect(
        provider="wahoo",
        authorize_path="/oauth/authorize",
        token_path="/oauth/token",
        client_auth="form",
        access_seconds=7200,
        user_id_kind="int",
        scopes="user_read workouts_read plans_read plans_write offline_data",
        oauth_error=_oauth_terse_client,
        api_error=_oauth,
    ),
}


def provider_urls(base_url: str, provider: Provider) -> dict[str, str]:
    """The provider's URLs on a fake served at `base_url`, named as the connections service's settings
    name them; "" where the real provider has no such URL either."""
    dialect = DIALECTS[provider]
    root = f"{base_url.rstrip('/')}/{provider}"
    return {
        "authorize_url": f"{root}{dialect.authorize_path}",
        "token_url": f"{root}{dialect.token_path}",
        "api_url": root,
        "revoke_url": f"{root}{dialect.revoke_path}" if dialect.revoke_path else "",
        "refresh_url": f"{root}{dialect.refresh_path}" if dialect.refresh_path else "",
    }


def settings_env(base_url: str, *, prefix: str, client_id: str, client_secret: str) -> dict[str, str]:
    """Environment variables that point the connections service at a fake served at `base_url`."""
    env: dict[str, str] = {}
    for provider in PROVIDERS:
        key = f"{prefix}{provider.upper()}__"
        env[f"{key}CLIENT_ID"] = client_id
        env[f"{key}CLIENT_SECRET"] = client_secret
        for name, url in provider_urls(base_url, provider).items():
            env[f"{key}{name.upper()}"] = url
    env[f"{prefix}COROS_TRAINING_HUB_URL"] = f"{base_url.rstrip('/')}/{COROS_HUB}"
    return env
