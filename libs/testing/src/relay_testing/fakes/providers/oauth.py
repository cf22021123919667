"""The providers' OAuth 2.0 authorization servers, written once: the consent page, the code exchange with
its checks (client, single use, expiry, redirect_uri, PKCE S256), refreshes that rotate or extend, the
revocations, and the access-token check of their APIs. `dialects.py` says where each provider differs."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from relay_testing.fakes.providers.dialects import DIALECTS, Dialect, Provider
from relay_testing.fakes.providers.state import CODE_SECONDS, Code, Grant, ProvidersState
from relay_testing.fakes.providers.users import ProviderUser

BasicCredentials = tuple[str, str]

COROS_OK = {"result": "0000", "message": "OK"}


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params]
    return urlunsplit(parts._replace(query=urlencode(query)))


class OAuthServer:
    """Every provider's authorization server over the shared state."""

    def __init__(self, state: ProvidersState) -> None:
        self.state = state

    def authorize(self, provider: Provider, params: dict[str, str]) -> str:
        """Where the athlete's browser is sent back once they have answered the consent page."""
        dialect = DIALECTS[provider]
        if params.get("client_id") != self.state.client_id:
            raise dialect.oauth_failure(400, "invalid_client", "Unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if not urlsplit(redirect_uri).scheme:
            raise dialect.oauth_failure(400, "invalid_request", "redirect_uri is missing or not absolute")
        if params.get("response_type") != "code":
            raise dialect.oauth_failure(400, "unsupported_response_type", "response_type must be code")
        challenge = params.get("code_challenge") or None
        if dialect.pkce and (challenge is None or params.get("code_challenge_method") != "S256"):
            raise dialect.oauth_failure(400, "invalid_request", "code_challenge with method S256 is required")
        state = params.get("state")
        if len(state or "") < dialect.min_state_length:
            raise dialect.oauth_failure(
                400, "invalid_state", f"state must be at least {dialect.min_state_length} characters"
            )
        answer: list[tuple[str, str]] = []
        consent = self.state.next_consent(provider)
        if consent.deny:
            answer.append(("error", "access_denied"))
        else:
            user = self.state.consenting_user(consent, provider)
            requested = (params.get("scope") or dialect.scopes).split()
            granted = requested if user.scopes is None else [s for s in requested if s in user.scopes]
            code = secrets.token_hex(20)
            self.state.codes[code] = Code(
                provider=provider,
                client_id=self.state.client_id,
                redirect_uri=redirect_uri,
                user_id=user.user_id,
                scopes=granted,
                code_challenge=challenge if dialect.pkce else None,
                expires_at=self.state.now() + CODE_SECONDS,
            )
            answer.append(("code", code))
        if state is not None:
            answer.append(("state", state))
        return with_query(redirect_uri, answer)

    def token(self, provider: Provider, fields: dict[str, str], basic: BasicCredentials | None) -> Any:
        """The token endpoint: `grant_type=authorization_code`, or `refresh_token` where it refreshes."""
        dialect = DIALECTS[provider]
        self._check_client(dialect, fields, basic)
        grant_type = fields.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(dialect, fields)
        if grant_type == "refresh_token" and dialect.issues_refresh_token and dialect.refresh_path is None:
            grant = self._refreshable(dialect, fields.get("refresh_token", ""))
            self.state.rotate(
                grant, access_seconds=dialect.access_seconds, refresh_seconds=dialect.refresh_seconds
            )
            return self._answer(dialect, grant)
        raise dialect.oauth_failure(
            400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
        )

    def coros_refresh(self, fields: dict[str, str]) -> dict[str, str]:
        """COROS's own refresh endpoint: the same access token lives 30 more days; no new token."""
        dialect = DIALECTS["coros"]
        self._check_client(dialect, fields, None)
        if fields.get("grant_type") != "refresh_token":
            raise dialect.oauth_failure(400, "unsupported_grant_type", "grant_type must be refresh_token")
        grant = self._refreshable(dialect, fields.get("refresh_token", ""))
        grant.access_expires_at = self.state.now() + dialect.access_seconds
        return COROS_OK

    def revoke_token(self, provider: Provider, token: str) -> None:
        """Revocation by token (COROS, Oura, Fitbit): the whole grant goes, whichever of its tokens is
        named. An unknown token is no error (RFC 7009)."""
        grant = self.state.grant_by_access(provider, token) or self.state.grant_by_refresh(provider, token)
        if grant is not None:
            self.state.drop_grant(grant)

    def check_basic_client(self, provider: Provider, basic: BasicCredentials | None) -> None:
        dialect = DIALECTS[provider]
        if basic is None or not self.state.client_matches(*basic):
            raise dialect.oauth_failure(401, "invalid_client", "Client authentication failed")

    def bearer(self, provider: Provider, access_token: str) -> tuple[Grant, ProviderUser]:
        """The grant and the user behind an API call's access token; the provider's 401 otherwise."""
        dialect = DIALECTS[provider]
        grant = self.state.grant_by_access(provider, access_token) if access_token else None
        if grant is None:
            raise dialect.api_failure(401, "invalid_token", _unauthorized(provider, "Access token invalid"))
        if grant.access_expires_at <= self.state.now():
            raise dialect.api_failure(401, "expired_token", _unauthorized(provider, "Access token expired"))
        return grant, self.state.user(provider, grant.user_id)

    def _check_client(self, dialect: Dialect, fields: dict[str, str], basic: BasicCredentials | None) -> None:
        if dialect.client_auth == "basic" or (dialect.client_auth == "form_or_basic" and basic is not None):
            valid = basic is not None and self.state.client_matches(*basic)
            # A client_id in the form, where the provider allows one, must be the same client.
            valid = valid and fields.get("client_id", self.state.client_id) == self.state.client_id
        else:
            valid = self.state.client_matches(fields.get("client_id"), fields.get("client_secret"))
        if not valid:
            raise dialect.oauth_failure(401, "invalid_client", "Client authentication failed")

    def _exchange_code(self, dialect: Dialect, fields: dict[str, str]) -> Any:
        # A code is spent by the first exchange that names it, whatever the outcome.
        code = self.state.codes.pop(fields.get("code", ""), None)
        if code is None or code.provider != dialect.provider or code.expires_at <= self.state.now():
            raise dialect.oauth_failure(400, "invalid_grant", "Authorization code is invalid or expired")
        if code.client_id != self.state.client_id:
            raise dialect.oauth_failure(
                400, "invalid_grant", "Authorization code was issued to another client"
            )
        if fields.get("redirect_uri") != code.redirect_uri:
            raise dialect.oauth_failure(400, "invalid_grant", "redirect_uri does not match the authorization")
        if code.code_challenge is not None:
            verifier = fields.get("code_verifier", "")
            if not verifier or not secrets.compare_digest(s256(verifier), code.code_challenge):
                raise dialect.oauth_failure(
                    400, "invalid_grant", "code_verifier does not match code_challenge"
                )
        offline = dialect.refresh_token_scope is None or dialect.refresh_token_scope in code.scopes
        refresh = dialect.issues_refresh_token and offline
        now = self.state.now()
        grant = Grant(
            provider=dialect.provider,
            user_id=code.user_id,
            scopes=code.scopes,
            access_token=self.state.new_token(),
            access_expires_at=now + dialect.access_seconds,
            refresh_token=self.state.new_token() if refresh else None,
            refresh_expires_at=now + dialect.refresh_seconds if refresh and dialect.refresh_seconds else None,
        )
        self.state.store_grant(grant)
        return self._answer(dialect, grant)

    def _refreshable(self, dialect: Dialect, refresh_token: str) -> Grant:
        grant = self.state.grant_by_refresh(dialect.provider, refresh_token)
        if grant is None:
            raise dialect.oauth_failure(400, "invalid_grant", "Refresh token is invalid, expired or revoked")
        return grant

    def _answer(self, dialect: Dialect, grant: Grant) -> dict[str, Any]:
        """The token answer, fields in the order the provider writes them."""
        user = self.state.user(dialect.provider, grant.user_id)
        scope = " ".join(grant.scopes)
        expires_in = dialect.access_seconds
        access, refresh = grant.access_token, grant.refresh_token
        match dialect.provider:
            case "garmin":
                return {
                    "access_token": access,
                    "token_type": "bearer",
                    "refresh_token": refresh,
                    "expires_in": expires_in,
                    "scope": scope,
                    "jti": str(uuid.uuid4()),
                    "refresh_token_expires_in": dialect.refresh_seconds,
                }
            case "coros":
                return {
                    "access_token": access,
                    "refresh_token": refresh,
                    "expires_in": expires_in,
                    "openId": user.user_id,
                }
            case "polar":
                return {
                    "access_token": access,
                    "token_type": "bearer",
                    "expires_in": expires_in,
                    "x_user_id": int(user.user_id),
                }
            case "oura":
                return {
                    "access_token": access,
                    "token_type": "bearer",
                    "expires_in": expires_in,
                    "refresh_token": refresh,
                    "scope": scope,
                }
            case "whoop":
                answer: dict[str, Any] = {"access_token": access, "expires_in": expires_in}
                if refresh:
                    answer["refresh_token"] = refresh
                return {**answer, "scope": scope, "token_type": "bearer"}
            case "fitbit":
                return {
                    "access_token": access,
                    "expires_in": expires_in,
                    "refresh_token": refresh,
                    "scope": scope,
                    "token_type": "Bearer",
                    "user_id": user.user_id,
                }
            case "wahoo":
                return {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                    "refresh_token": refresh,
                    "scope": scope,
                    "created_at": int(self.state.now()),
                }


def _unauthorized(provider: Provider, description: str) -> str:
    return "Unauthorized" if provider == "garmin" else description
