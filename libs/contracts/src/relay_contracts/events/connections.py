"""Events produced by the connections service. None of them carries a token, a password or a secret:
consumers that need an athlete's access token ask the connections service for it (an audited call)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relay_contracts.events.common import Actor

AuthType = Literal["oauth2", "oauth2_pkce", "oauth1", "password", "api_key"]
ConnectionStatus = Literal["active", "reauth_required", "revoked"]


class ConnectionLinked(BaseModel):
    """An athlete linked a provider account, or linked it again (new tokens replace the old ones)."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str
    user_id: str
    provider: str = Field(description="`strava`, `garmin`, `coros`, `polar`, `oura`, `whoop`, `fitbit`, ...")
    provider_user_id: str = Field(description="The athlete's id at the provider (what its webhooks name).")
    auth_type: AuthType
    scopes: list[str]
    relinked: bool = Field(description="True when the athlete already had a connection to this provider.")
    linked_at: datetime
    actor: Actor


class ConnectionUpdated(BaseModel):
    """Fields of a connection changed: paused or resumed by the athlete (`is_active`), or re-linked."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str
    user_id: str
    provider: str
    changed: list[str] = Field(description="Names of the fields that changed, e.g. `is_active`.")
    is_active: bool
    status: ConnectionStatus
    actor: Actor


class ConnectionReauthRequired(BaseModel):
    """The provider no longer honours the connection's grant (a refused refresh, an expired or invalid
    token): the athlete must link the provider again. The app turns this into a prompt."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str
    user_id: str
    provider: str
    reason: str = Field(description="Why, e.g. `refresh_refused` or `token_expired`.")
    at: datetime


class ConnectionRevoked(BaseModel):
    """Relay's access to the provider account ended: the athlete disconnected it, or withdrew access at
    the provider. When `erase_provider_data` is set, services erase what they hold from this provider
    account (provider terms, e.g. Strava's)."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str
    user_id: str
    provider: str
    provider_user_id: str
    reason: Literal["disconnected", "deauthorized_at_provider"]
    erase_provider_data: bool
    revoked_at_provider: bool = Field(
        description="Whether Relay withdrew its grant at the provider too (not possible for every provider)."
    )
    at: datetime
    actor: Actor


class ConnectionExpiring(BaseModel):
    """A connection will stop working unless something is done: a legacy OAuth 1.0a link being
    retired, a refresh token or a webhook subscription about to expire, or a link unused for long."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str
    user_id: str
    provider: str
    reason: Literal["legacy_oauth1", "refresh_token_expiring", "webhook_subscription_expiring", "unused"]
    expires_at: datetime | None = Field(default=None, description="When it breaks, when that is known.")
    message: str = Field(description="What the athlete can do, in a sentence the app may show.")


class SyncRequested(BaseModel):
    """The athlete asked for a synchronisation of a connection; ingestion runs it and reports with
    `ingestion.sync.*` events carrying the same `sync_id`."""

    model_config = ConfigDict(extra="ignore")

    sync_id: str
    connection_id: str
    user_id: str
    provider: str
    provider_user_id: str
    since: datetime | None = Field(
        default=None, description="Fetch what started after this; None: since the last sync."
    )
    requested_at: datetime
    actor: Actor


class AccessTokenIssued(BaseModel):
    """An internal caller obtained an athlete's access token for a provider (the token is not here)."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str
    user_id: str
    provider: str
    caller: str = Field(description="The service that asked, e.g. `ingestion` or `export`.")
    purpose: str = Field(description="What the caller said it is for, e.g. `fetch_activity`.")
    refreshed: bool = Field(description="Whether the token was refreshed at the provider for this call.")
    issued_at: datetime
    actor: Actor | None = Field(
        default=None, description="Who obtained it: Relay (`system`), with the calling service as its id."
    )
