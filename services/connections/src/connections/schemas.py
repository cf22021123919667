"""Request and response bodies of the connections API (seed 004), never the tables themselves.
No response carries a token, except the internal handout's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr

from connections.models import ProviderConnection, SyncRecord
from connections.providers.registry import PROVIDERS, ProviderSpec

LinkMethod = Literal["authorization_page", "password", "api_key"]


class ProviderOut(BaseModel):
    key: str
    name: str
    brand: str
    auth_type: str
    link_method: LinkMethod
    scopes: list[str]
    data_types: list[str]
    exports_workouts: bool
    webhooks: bool
    unofficial: bool
    notice: str | None
    available: bool = Field(
        description="Whether this server can link it now (Relay has an application there)."
    )

    @classmethod
    def of(cls, spec: ProviderSpec, available: bool) -> ProviderOut:
        method: LinkMethod = (
            "password"
            if spec.auth_type == "password"
            else "api_key"
            if spec.auth_type == "api_key"
            else "authorization_page"
        )
        return cls(
            key=spec.key,
            name=spec.name,
            brand=spec.brand,
            auth_type=spec.auth_type,
            link_method=method,
            scopes=list(spec.default_scopes),
            data_types=list(spec.data_types),
            exports_workouts=spec.exports_workouts,
            webhooks=spec.webhooks,
            unofficial=spec.unofficial,
            notice=spec.notice,
            available=available,
        )


class AvailableProviders(BaseModel):
    providers: list[ProviderOut]


class ConnectionOut(BaseModel):
    id: str
    provider: str
    provider_name: str
    provider_user_id: str
    provider_username: str | None
    provider_profile: dict[str, Any]
    auth_type: str
    status: str = Field(description="`active`, `reauth_required` (link again) or `revoked`.")
    status_reason: str | None
    is_active: bool = Field(description="The athlete's switch: a paused connection is not synchronised.")
    needs_reauth: bool
    scopes: list[str]
    token_expires_at: datetime | None
    linked_at: datetime
    last_sync_at: datetime | None
    last_sync_error: str | None
    last_used_at: datetime | None
    notice: str | None

    @classmethod
    def of(cls, connection: ProviderConnection) -> ConnectionOut:
        spec = PROVIDERS.get(connection.provider)
        notice = (
            spec.notice
            if spec is not None and (spec.unofficial or connection.auth_type == "oauth1")
            else None
        )
        return cls(
            id=str(connection.id),
            provider=connection.provider,
            provider_name=spec.name if spec else connection.provider,
            provider_user_id=connection.provider_user_id,
            provider_username=connection.provider_username,
            provider_profile=connection.provider_profile,
            auth_type=connection.auth_type,
            status=connection.status,
            status_reason=connection.status_reason,
            is_active=connection.is_active,
            needs_reauth=connection.status != "active",
            scopes=list(connection.scopes),
            token_expires_at=connection.access_expires_at,
            linked_at=connection.linked_at,
            last_sync_at=connection.last_sync_at,
            last_sync_error=connection.last_sync_error,
            last_used_at=connection.last_used_at,
            notice=notice,
        )


class ConnectionList(BaseModel):
    connections: list[ConnectionOut]
    total: int


class ConnectRequest(BaseModel):
    redirect_uri: str | None = Field(
        default=None, max_length=512, description="The app's deep link to return to when the link ends."
    )


class ConnectStarted(BaseModel):
    provider: str
    authorization_url: str = Field(
        description="Open it in a browser: the provider asks the athlete's consent."
    )
    state: str
    expires_at: datetime


class PasswordLinkRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    password: SecretStr = Field(min_length=1, max_length=256)


class Linked(BaseModel):
    success: bool = True
    connection: ConnectionOut
    relinked: bool
    notice: str | None = None


class ToggleRequest(BaseModel):
    is_active: bool | None = Field(default=None, description="The state wanted; absent: the opposite of now.")


class Disconnected(BaseModel):
    success: bool = True
    provider: str
    revoked_at_provider: bool


class SyncRecordOut(BaseModel):
    id: str
    trigger: str
    sync_status: str = Field(description="`requested`, `running`, `success`, `partial` or `failed`.")
    requested_at: datetime
    sync_started_at: datetime | None
    sync_completed_at: datetime | None
    percent: float | None
    activities_fetched: int
    activities_created: int
    activities_updated: int
    activities_skipped: int
    error_message: str | None

    @classmethod
    def of(cls, record: SyncRecord) -> SyncRecordOut:
        return cls(
            id=str(record.id),
            trigger=record.trigger,
            sync_status=record.status,
            requested_at=record.requested_at,
            sync_started_at=record.started_at,
            sync_completed_at=record.completed_at,
            percent=record.percent,
            activities_fetched=record.activities_fetched,
            activities_created=record.activities_created,
            activities_updated=record.activities_updated,
            activities_skipped=record.activities_skipped,
            error_message=record.error_message,
        )


class SyncHistory(BaseModel):
    connection_id: str
    provider: str
    history: list[SyncRecordOut]


class SyncStatus(BaseModel):
    connection_id: str
    provider: str
    status: str
    is_active: bool
    last_sync_at: datetime | None
    last_sync_error: str | None
    latest: SyncRecordOut | None = Field(description="The most recent synchronisation, running or not.")


class SyncAccepted(BaseModel):
    success: bool = True
    sync_id: str
    sync_status: str


class AttentionItem(BaseModel):
    connection_id: str
    provider: str
    status: str
    reason: str | None


class Summary(BaseModel):
    total_connections: int
    active_connections: int
    paused_connections: int
    needs_attention: list[AttentionItem]
    providers: dict[str, str] = Field(description="Each linked provider and its connection's status.")
    last_sync_at: datetime | None


class AccessTokenRequest(BaseModel):
    provider: str = Field(max_length=32)
    user_id: str | None = Field(default=None, max_length=64)
    provider_user_id: str | None = Field(default=None, max_length=128)
    purpose: str = Field(max_length=64, description="What the token is for, recorded in the audit trail.")


class AccessTokenOut(BaseModel):
    connection_id: str
    user_id: str
    provider: str
    provider_user_id: str
    auth_type: str
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    token_secret: str | None = Field(default=None, description="OAuth 1.0a links only.")
    expires_at: datetime | None
    scopes: list[str]
    refreshed: bool


class TokenRejectionRequest(BaseModel):
    connection_id: str = Field(max_length=64, description="The `connection_id` the handout answered.")
    provider: str = Field(max_length=32)
    reason: str = Field(
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="What the provider answered, as a short code: `token_expired`, `token_invalid`, "
        "`unauthorized`. Never the provider's message, which may quote the token.",
    )


class TokenRejectionOut(BaseModel):
    connection_id: str
    provider: str
    status: str = Field(
        description="The connection's status now: `reauth_required`, or `revoked` when the athlete had "
        "already withdrawn access (which a rejection does not undo)."
    )
