"""One OAuth 2.0 client for every provider, told apart by their dialects (dialects.py); the two that
need more than data get a subclass: Polar registers the athlete after the code exchange, Garmin says
which permissions the athlete granted through another call.

How failures are sorted (base.py): a code, verifier or refresh token the provider refuses is the
athlete's to fix (`AuthorizationRefused`, `RefreshRefused`); Relay's own client credentials being
refused, the provider failing or rate-limiting, a timeout, or an answer Relay cannot read is
`ProviderUnavailable`, with the status when there was one. No message, no log line quotes a token."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr

from connections.config import ProviderApp
from connections.providers.base import (
    AuthorizationRefused,
    LinkedAccount,
    ProviderError,
    ProviderUnavailable,
    RefreshRefused,
    Tokens,
)
from connections.providers.calls import json_body, send, unexpected
from connections.providers.dialects import Dialect, error_of, find

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def pkce_pair() -> tuple[str, str]:
    """A new PKCE verifier and its S256 challenge (RFC 7636): BASE64URL(SHA256(verifier)), unpadded."""
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuth2Client:
    """`base.OAuthProvider` for one provider's OAuth 2.0 dialect."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        app: ProviderApp,
        dialect: Dialect,
        *,
        scopes: tuple[str, ...] = (),
        scope_separator: str = " ",
        clock: Clock = utc_now,
    ) -> None:
        self.key = dialect.key
        self.uses_pkce = dialect.pkce
        self.dialect = dialect
        self.scopes = scopes
        self._http = http
        self._app = app
        self._scope_separator = scope_separator
        self._clock = clock

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        params = {
            "client_id": self._app.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if len(state) < self.dialect.min_state_length:
            raise ValueError(f"{self.key} refuses a state shorter than {self.dialect.min_state_length}")
        if self.dialect.scope_param and self.scopes:
            params["scope"] = self._scope_separator.join(self.scopes)
        if self.uses_pkce:
            if not code_challenge:
                raise ValueError(f"{self.key} needs a PKCE code challenge")
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        params |= self.dialect.authorize_params
        joiner = "&" if "?" in self._app.authorize_url else "?"
        return f"{self._app.authorize_url}{joiner}{urlencode(params, quote_via=quote)}"

    async def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        user_id: str,
        granted_scope: str | None = None,
    ) -> LinkedAccount:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if self.uses_pkce:
            if not code_verifier:
                raise ValueError(f"{self.key} needs the PKCE code verifier")
            form["code_verifier"] = code_verifier
        if self.dialect.client_auth == "basic" and self.dialect.client_id_in_exchange:
            form["client_id"] = self._app.client_id
        answer = await self._token_call("token", self._app.token_url, form, AuthorizationRefused)
        tokens = self._tokens_of(answer, previous=None, granted_scope=granted_scope)
        return await self._link(answer, tokens, user_id=user_id)

    async def refresh(self, tokens: Tokens) -> Tokens:
        if self.dialect.refresh == "never":
            raise RefreshRefused(self.key, "grants have no refresh token: the athlete must link again")
        if tokens.refresh_token is None:
            raise RefreshRefused(self.key, "no refresh token was granted: the athlete must link again")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token.get_secret_value(),
            **self.dialect.refresh_params,
        }
        url = self._app.refresh_url or self._app.token_url
        answer = await self._token_call("refresh", url, form, RefreshRefused)
        if self.dialect.refresh == "extends":
            extends_by = self.dialect.extends_by or timedelta(0)
            return replace(tokens, expires_at=self._clock() + extends_by)
        return self._tokens_of(answer, previous=tokens, granted_scope=None)

    async def revoke(self, tokens: Tokens, provider_user_id: str) -> bool:
        """True once the provider has withdrawn Relay's access, or has nothing of it left (404); False
        when the provider offers no revocation. An access token the provider refuses (expired) raises
        `AuthorizationRefused`: refresh, then revoke again."""
        revocation = self.dialect.revocation
        if revocation is None:
            return False
        url = revocation.url.format(
            api_url=self._app.api_url,
            revoke_url=self._app.revoke_url,
            provider_user_id=quote(provider_user_id, safe=""),
        )
        token = tokens.access_token.get_secret_value()
        request: dict[str, Any] = {}
        if revocation.sent_as == "bearer":
            request["headers"] = {"Authorization": f"Bearer {token}"}
        elif revocation.sent_as == "form":
            request["data"] = {revocation.token_field: token}
        else:
            request["params"] = {revocation.token_field: token}
        if revocation.client_auth:
            request["auth"] = self._basic_auth()
        response = await send(self._http, self.key, "revoke", revocation.method, url, **request)
        status = response.status_code
        if status == 404:
            return True
        if status in (401, 403):
            raise AuthorizationRefused(
                self.key, f"revoke: the access token was refused ({status})", status=status
            )
        error = error_of(self.dialect.error_shape, json_body(response))
        if 200 <= status < 300 and error is None:
            return True
        raise unexpected(self.key, "revoke", response)

    async def honours(self, tokens: Tokens) -> bool:
        path = self.dialect.grant_check_path or self.dialect.profile_path
        if path is None:
            raise ProviderUnavailable(self.key, "grant_check: no call tells whether a grant is honoured")
        url = f"{self._app.api_url}{path}"
        response = await send(self._http, self.key, "grant_check", "GET", url, headers=self._bearer(tokens))
        if response.status_code == 401:
            return False
        if response.status_code == 200:
            return True
        raise unexpected(self.key, "grant_check", response)

    # The exchange's follow-up: who the athlete is. Subclasses add their provider's own steps.

    async def _link(self, answer: dict[str, Any], tokens: Tokens, *, user_id: str) -> LinkedAccount:
        document = answer
        if self.dialect.profile_path is not None:
            document = await self._profile(tokens, required=self.dialect.user_id_in_token is None)
        if self.dialect.user_id_in_token is not None:
            provider_user_id = find(answer, self.dialect.user_id_in_token)
        else:
            provider_user_id = find(document, self.dialect.user_id_in_profile or ())
        return self._account(provider_user_id, tokens, document)

    async def _profile(self, tokens: Tokens, *, required: bool) -> dict[str, Any]:
        """The athlete's profile. When it only adds display fields (the id came with the tokens), a
        failure to get it costs those fields, not the link, whose code is already spent."""
        try:
            profile = await self._api_get("profile", self.dialect.profile_path or "", tokens)
        except ProviderUnavailable:
            if required:
                raise
            return {}
        return profile if isinstance(profile, dict) else {}

    async def _api_get(self, endpoint: str, path: str, tokens: Tokens) -> Any:
        response = await send(
            self._http, self.key, endpoint, "GET", f"{self._app.api_url}{path}", headers=self._bearer(tokens)
        )
        body = json_body(response)
        if response.status_code != 200 or body is None:
            raise unexpected(self.key, endpoint, response)
        return body

    def _account(self, provider_user_id: Any, tokens: Tokens, document: Any) -> LinkedAccount:
        if isinstance(provider_user_id, bool) or not isinstance(provider_user_id, str | int):
            raise ProviderUnavailable(self.key, "answered no user id")
        if not str(provider_user_id):
            raise ProviderUnavailable(self.key, "answered an empty user id")
        profile = {name: find(document, path) for name, path in self.dialect.profile_fields.items()}
        username = find(document, self.dialect.username) if self.dialect.username else None
        return LinkedAccount(
            provider_user_id=str(provider_user_id),
            tokens=tokens,
            username=str(username) if username else None,
            profile={name: value for name, value in profile.items() if value not in (None, "")},
        )

    # Token endpoint.

    async def _token_call(
        self, endpoint: str, url: str, form: dict[str, str], refused: type[ProviderError]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"headers": {"Accept": "application/json"}}
        if self.dialect.client_auth == "basic":
            request |= {"data": form, "auth": self._basic_auth()}
        else:
            secret = self._app.client_secret.get_secret_value()
            request["data"] = {**form, "client_id": self._app.client_id, "client_secret": secret}
        response = await send(self._http, self.key, endpoint, "POST", url, **request)
        body = json_body(response)
        error = error_of(self.dialect.error_shape, body)
        if response.status_code == 200 and error is None and isinstance(body, dict):
            return body
        status = response.status_code
        refusal, code = error if error is not None else (None, "")
        if status < 500 and status != 429:
            if refusal == "grant":
                raise refused(self.key, f"{endpoint}: the grant was refused ({code})", status=status)
            if refusal == "client" or status in (401, 403):
                raise ProviderUnavailable(
                    self.key,
                    f"{endpoint}: Relay's client credentials were refused ({code or status}): "
                    f"check the {self.key} client id and secret in the settings",
                    status=status,
                )
        raise unexpected(self.key, endpoint, response)

    def _tokens_of(
        self, answer: dict[str, Any], *, previous: Tokens | None, granted_scope: str | None
    ) -> Tokens:
        access_token = answer.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ProviderUnavailable(self.key, "answered no access token")
        now = self._clock()
        refresh_token = answer.get("refresh_token")
        if isinstance(refresh_token, str) and refresh_token:
            new_refresh: SecretStr | None = SecretStr(refresh_token)
            refresh_expires_at = _after(now, answer.get("refresh_token_expires_in"))
        else:  # not rotated: the one held stays
            new_refresh = previous.refresh_token if previous else None
            refresh_expires_at = previous.refresh_expires_at if previous else None
        granted = answer.get("scope") if self.dialect.scopes_in_token else None
        if isinstance(granted, str):
            scopes = _split_scopes(granted)
        elif previous is not None:
            scopes = previous.scopes
        elif granted_scope is not None:
            scopes = _split_scopes(granted_scope)
        else:
            scopes = list(self.scopes)
        return Tokens(
            access_token=SecretStr(access_token),
            refresh_token=new_refresh,
            expires_at=_expires_at(answer, now),
            refresh_expires_at=refresh_expires_at,
            scopes=scopes,
        )

    def _basic_auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self._app.client_id, self._app.client_secret.get_secret_value())

    @staticmethod
    def _bearer(tokens: Tokens) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access_token.get_secret_value()}"}


class PolarOAuth(OAuth2Client):
    """Polar AccessLink: the athlete must be registered with Relay's client (`POST /v3/users`, member id =
    Relay's user id) before any data can be read. Already registered (409, a relink) is fine."""

    async def _link(self, answer: dict[str, Any], tokens: Tokens, *, user_id: str) -> LinkedAccount:
        response = await send(
            self._http,
            self.key,
            "registration",
            "POST",
            f"{self._app.api_url}/v3/users",
            json={"member-id": user_id},
            headers={**self._bearer(tokens), "Accept": "application/json"},
        )
        registration = json_body(response) if response.status_code == 200 else {}
        if response.status_code not in (200, 409) or not isinstance(registration, dict):
            raise unexpected(self.key, "registration", response)
        provider_user_id = registration.get("polar-user-id") or find(
            answer, self.dialect.user_id_in_token or ()
        )
        if response.status_code == 409:  # registered by an earlier link: its details are read instead
            registration = await self._registered_user(tokens, provider_user_id)
        return self._account(provider_user_id, tokens, registration)

    async def _registered_user(self, tokens: Tokens, provider_user_id: Any) -> dict[str, Any]:
        """The athlete's registration, for display fields only: without it the link still stands."""
        if isinstance(provider_user_id, bool) or not isinstance(provider_user_id, str | int):
            return {}
        path = f"/v3/users/{quote(str(provider_user_id), safe='')}"
        try:
            user = await self._api_get("registered_user", path, tokens)
        except ProviderUnavailable:
            return {}
        return user if isinstance(user, dict) else {}


class GarminOAuth(OAuth2Client):
    """Garmin: the token's scopes are the partner's, the same for every athlete; what this athlete
    allowed (activity export, workout import, health export) comes from the permissions call and is
    kept as the link's scopes."""

    async def _link(self, answer: dict[str, Any], tokens: Tokens, *, user_id: str) -> LinkedAccount:
        account = await super()._link(answer, tokens, user_id=user_id)
        permissions = await self._api_get("permissions", "/wellness-api/rest/user/permissions", tokens)
        if not isinstance(permissions, list):
            raise ProviderUnavailable(self.key, "permissions: unexpected answer")
        return replace(account, tokens=replace(tokens, scopes=[str(p) for p in permissions]))


def _split_scopes(scope: str) -> list[str]:
    return [s for s in re.split(r"[\s,]+", scope) if s]


def _after(now: datetime, seconds: Any) -> datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return now + timedelta(seconds=seconds)


def _expires_at(answer: dict[str, Any], now: datetime) -> datetime | None:
    expires_at = answer.get("expires_at")  # Strava: epoch seconds
    if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
        return datetime.fromtimestamp(expires_at, UTC)
    return _after(now, answer.get("expires_in"))
