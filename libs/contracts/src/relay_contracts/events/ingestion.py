"""Events produced by the ingestion service."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Provider = Literal["strava", "garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo", "health_bridge"]


class WebhookReceived(BaseModel):
    """A notification from a provider, as the provider sent it (ids only, never a token)."""

    model_config = ConfigDict(extra="ignore")

    provider: Provider
    webhook_id: str = Field(description="Relay's id of the stored notification.")
    object_type: str = Field(description="What the notification is about, e.g. `activity` or `athlete`.")
    object_id: str
    aspect_type: str = Field(description="`create`, `update` or `delete`.")
    owner_id: str = Field(description="The athlete's id at the provider.")
    event_time: datetime
    updates: dict[str, Any] = Field(default_factory=dict)


class ApiKeyUsed(BaseModel):
    """An API key authenticated a request (at most one event per key and minute)."""

    model_config = ConfigDict(extra="ignore")

    api_key_id: str
    user_id: str
    used_at: datetime


SyncTrigger = Literal["manual", "link", "webhook", "schedule"]


class SyncStarted(BaseModel):
    """Ingestion started synchronising a connection (a requested sync, a backfill after linking, a poll)."""

    model_config = ConfigDict(extra="ignore")

    sync_id: str = Field(description="The `connections.sync.requested` id, or ingestion's own for its syncs.")
    connection_id: str
    user_id: str
    provider: Provider
    trigger: SyncTrigger
    started_at: datetime


class SyncProgressed(BaseModel):
    """How far a running synchronisation is (published every page or so, not for every activity)."""

    model_config = ConfigDict(extra="ignore")

    sync_id: str
    connection_id: str
    user_id: str
    provider: Provider
    activities_fetched: int
    percent: float | None = Field(default=None, description="0 to 100 when the total is known.")
    at: datetime


class SyncCompleted(BaseModel):
    """A synchronisation ended, successfully or not, with its counts."""

    model_config = ConfigDict(extra="ignore")

    sync_id: str
    connection_id: str
    user_id: str
    provider: Provider
    status: Literal["success", "partial", "failed"]
    started_at: datetime
    completed_at: datetime
    activities_fetched: int = 0
    activities_created: int = 0
    activities_updated: int = 0
    activities_skipped: int = 0
    error: str | None = Field(default=None, description="What went wrong, for the athlete and operators.")
