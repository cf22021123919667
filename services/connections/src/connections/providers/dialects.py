"""How each OAuth 2.0 provider departs from the others, as data: how Relay authenticates itself, where
the athlete's id is found, how errors are written, how refresh and revocation work. The contract each
entry follows is the provider's documentation (PROVIDERS.md and the providers' OAuth contracts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

ClientAuth = Literal["form", "basic"]
"""`form`: client_id and client_secret in the token request's form; `basic`: HTTP Basic."""

ErrorShape = Literal["oauth", "fitbit", "coros", "strava"]

RefreshStyle = Literal["rotating", "extends", "never"]
"""`rotating`: a refresh answers new tokens (a new refresh token, when given, replaces the old one);
`extends`: the same access token lives longer (COROS); `never`: no refresh token (Polar)."""

Path = tuple[str, ...]
"""Keys leading to a value in a JSON answer: `("athlete", "id")`."""


@dataclass(frozen=True)
class Revocation:
    method: str
    url: str
    """Template: `{api_url}`, `{revoke_url}`, `{provider_user_id}`."""
    sent_as: Literal["bearer", "form", "query"]
    """How the access token travels: as a Bearer header, or as `token_field` of the form or query."""
    token_field: str = ""
    client_auth: bool = False
    """The request also carries the client's credentials as HTTP Basic (Fitbit)."""


@dataclass(frozen=True)
class Dialect:
    key: str
    pkce: bool = False
    client_auth: ClientAuth = "form"
    client_id_in_exchange: bool = False
    """With `basic`, the code exchange's form names the client too (Fitbit)."""
    scope_param: bool = True
    """The authorization URL carries the scopes (Garmin and COROS take them from the app's settings)."""
    authorize_params: dict[str, str] = field(default_factory=dict)
    min_state_length: int = 0
    """The consent page refuses a shorter state (WHOOP: 8)."""
    refresh_params: dict[str, str] = field(default_factory=dict)
    user_id_in_token: Path | None = None
    """Where the token answer names the athlete; None when only `profile_path` does."""
    profile_path: str | None = None
    """GET under `api_url` (Bearer) answering the athlete's profile."""
    grant_check_path: str | None = None
    """GET under `api_url` (Bearer) that any access token of a live grant may read, cheaply: how Relay
    asks whether the provider still honours a grant. `profile_path` when None."""
    user_id_in_profile: Path | None = None
    profile_fields: dict[str, Path] = field(default_factory=dict)
    """Relay's display fields (`first_name`, `last_name`, `display_name`, `picture`, `email`, ...) and
    where they are: in the profile answer, or in the token answer when there is no profile call."""
    username: Path | None = None
    error_shape: ErrorShape = "oauth"
    refresh: RefreshStyle = "rotating"
    extends_by: timedelta | None = None
    """With `extends`: how much longer the access token lives after a refresh."""
    scopes_in_token: bool = True
    """The token answer's `scope` is what the athlete granted (not so for Garmin's partner scopes)."""
    revocation: Revocation | None = None


Refusal = Literal["grant", "client"]
"""`grant`: the code, verifier or refresh token is refused; `client`: Relay's own credentials are."""

GRANT_ERRORS = frozenset({"invalid_grant", "invalid_code", "invalid_token", "expired_token", "access_denied"})
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
COROS_OK = "0000"
COROS_GRANT_REFUSED = frozenset({"1008"})
COROS_CLIENT_REFUSED = frozenset({"1007"})
STRAVA_GRANT_FIELDS = frozenset({"code", "refresh_token", "access_token"})
STRAVA_CLIENT_FIELDS = frozenset({"client_id", "client_secret"})


def error_of(shape: ErrorShape, body: Any) -> tuple[Refusal | None, str] | None:
    """The error an answer carries, if any, as (what is refused, the provider's code). Some providers
    answer errors with HTTP 200 (COROS's `result`), so a successful status is not enough."""
    if not isinstance(body, dict):
        return None
    if shape == "oauth":
        code = body.get("error")
        return None if code is None else (_refusal(str(code)), str(code))
    if shape == "fitbit":
        errors = body.get("errors")
        if not errors and body.get("success") is not False:
            return None
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = str(first.get("errorType", "error"))
        return _refusal(code), code
    if shape == "coros":
        result = body.get("result")
        if result is None or str(result) == COROS_OK:
            return None
        result = str(result)
        if result in COROS_GRANT_REFUSED:
            return "grant", result
        return ("client" if result in COROS_CLIENT_REFUSED else None), result
    errors = body.get("errors")
    if not isinstance(errors, list) or "message" not in body:
        return None
    fields = {str(e.get("field")) for e in errors if isinstance(e, dict)}
    code = ",".join(sorted(fields)) or str(body["message"])
    if fields & STRAVA_GRANT_FIELDS:
        return "grant", code
    return ("client" if fields & STRAVA_CLIENT_FIELDS else None), code


def _refusal(code: str) -> Refusal | None:
    if code in GRANT_ERRORS:
        return "grant"
    return "client" if code in CLIENT_ERRORS else None


def find(document: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


DIALECTS: dict[str, Dialect] = {
    dialect.key: dialect
    for dialect in (
        Dialect(
            key="strava",
            authorize_params={"approval_prompt": "auto"},
            user_id_in_token=("athlete", "id"),
            profile_fields={
                "first_name": ("athlete", "firstname"),
                "last_name": ("athlete", "lastname"),
                "picture": ("athlete", "profile"),
                "city": ("athlete", "city"),
                "country": ("athlete", "country"),
            },
            username=("athlete", "username"),
            grant_check_path="/athlete",
            error_shape="strava",
            revocation=Revocation("POST", "{revoke_url}", "form", "access_token"),
        ),
        Dialect(
            key="garmin",
            pkce=True,
            scope_param=False,
            profile_path="/wellness-api/rest/user/id",
            user_id_in_profile=("userId",),
            scopes_in_token=False,
            revocation=Revocation("DELETE", "{api_url}/wellness-api/rest/user/registration", "bearer"),
        ),
        Dialect(
            key="coros",
            scope_param=False,
            user_id_in_token=("openId",),
            error_shape="coros",
            refresh="extends",
            extends_by=timedelta(days=30),
            revocation=Revocation("POST", "{revoke_url}", "query", "token"),
        ),
        Dialect(
            key="polar",
            client_auth="basic",
            user_id_in_token=("x_user_id",),
            profile_fields={"first_name": ("first-name",), "last_name": ("last-name",)},
            refresh="never",
            revocation=Revocation("DELETE", "{api_url}/v3/users/{provider_user_id}", "bearer"),
        ),
        Dialect(
            key="oura",
            profile_path="/v2/usercollection/personal_info",
            user_id_in_profile=("id",),
            profile_fields={"email": ("email",)},
            revocation=Revocation("GET", "{api_url}/oauth/revoke", "query", "access_token"),
        ),
        Dialect(
            key="whoop",
            min_state_length=8,
            refresh_params={"scope": "offline"},
            profile_path="/developer/v2/user/profile/basic",
            user_id_in_profile=("user_id",),
            profile_fields={"first_name": ("first_name",), "last_name": ("last_name",), "email": ("email",)},
            revocation=Revocation("DELETE", "{api_url}/developer/v2/user/access", "bearer"),
        ),
        Dialect(
            key="fitbit",
            pkce=True,
            client_auth="basic",
            client_id_in_exchange=True,
            user_id_in_token=("user_id",),
            profile_path="/1/user/-/profile.json",
            profile_fields={
                "display_name": ("user", "displayName"),
                "full_name": ("user", "fullName"),
                "picture": ("user", "avatar"),
            },
            username=("user", "displayName"),
            error_shape="fitbit",
            revocation=Revocation("POST", "{revoke_url}", "form", "token", client_auth=True),
        ),
        Dialect(
            key="wahoo",
            profile_path="/v1/user",
            user_id_in_profile=("id",),
            profile_fields={"first_name": ("first",), "last_name": ("last",), "email": ("email",)},
            revocation=Revocation("DELETE", "{api_url}/v1/permissions", "bearer"),
        ),
    )
}
