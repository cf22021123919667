"""The identity service's internal API as connections uses it: claiming, once, the Strava tokens of a
sign-in. Failures are sorted for the consumer: an outage is transient (`ConnectionError`, so the message
is retried and redelivered), a refusal is not (it ends on the dead-letter topic with its reason)."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, ValidationError

TRANSIENT_STATUS = frozenset({429, 502, 503, 504})


class ClaimedStravaGrant(BaseModel):
    """Identity's answer to a claim. The tokens are `SecretStr`: they never print."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    strava_grant_id: str
    user_id: str
    strava_athlete_id: str
    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: AwareDatetime
    scopes: list[str]


class StravaGrants(Protocol):
    """Where the Strava tokens of a sign-in are claimed (identity's internal API)."""

    async def claim_strava_grant(self, strava_grant_id: str) -> ClaimedStravaGrant | None: ...


class IdentityUnavailable(ConnectionError):
    """Identity could not be reached, timed out or failed (5xx): retry later."""


class IdentityRefused(RuntimeError):
    """Identity refused the claim (401: this service's internal token is wrong) or answered something
    that is not a claim: retrying will not help."""


class IdentityClient:
    def __init__(self, http: httpx.AsyncClient, internal_token: SecretStr) -> None:
        self._http = http
        self._internal_token = internal_token

    async def claim_strava_grant(self, strava_grant_id: str) -> ClaimedStravaGrant | None:
        """The grant's tokens, or None when it cannot be claimed any more (already claimed, superseded
        by a newer sign-in, or expired)."""
        path = f"/internal/strava-grants/{quote(strava_grant_id, safe='')}/claim"
        headers = {"Authorization": f"Bearer {self._internal_token.get_secret_value()}"}
        try:
            response = await self._http.post(path, headers=headers)
        except httpx.TransportError as exc:
            raise IdentityUnavailable(f"identity unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 404 and _error_code(response) == "not_found":
            return None
        if status >= 500 or status in TRANSIENT_STATUS:
            raise IdentityUnavailable(f"identity answered {status} to a Strava grant claim")
        if status == 401:
            raise IdentityRefused("identity refused the internal token (401): check identity_internal_token")
        if status != 200:
            raise IdentityRefused(f"identity answered {status} to a Strava grant claim")
        try:
            return ClaimedStravaGrant.model_validate_json(response.content)
        except ValidationError as exc:
            # Without the validation details: they would quote the tokens.
            fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
            raise IdentityRefused(f"identity's claim answer is malformed ({', '.join(fields)})") from None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None
