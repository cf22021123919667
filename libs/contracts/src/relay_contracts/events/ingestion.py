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


class SyncFailed(BaseModel):
    """A synchronisation stopped without finishing: what it stored before is kept; `error` says why.
    (A synchronisation that ends is `ingestion.sync.completed`.)"""

    model_config = ConfigDict(extra="ignore")

    sync_id: str
    connection_id: str
    user_id: str
    provider: Provider
    started_at: datetime
    failed_at: datetime
    activities_fetched: int = 0
    activities_created: int = 0
    activities_updated: int = 0
    activities_skipped: int = 0
    error: str = Field(description="What went wrong, for the athlete and operators (never a token).")
    reason: Literal[
        "reauth_required", "connection_gone", "provider_unavailable", "rate_limited", "invalid_data"
    ]


class ActivityUpserted(BaseModel):
    """An activity was stored or changed (from a webhook, a backfill or a poll). Keyed by athlete.
    `duplicate_of` is set when it is another provider's copy of an activity already shown: consumers
    that count workouts (planning) skip those."""

    model_config = ConfigDict(extra="ignore")

    activity_id: str
    user_id: str
    provider: Provider
    external_id: str
    created: bool = Field(description="True the first time this activity is stored.")
    revision: int
    sport: str = Field(description="`run`, `bike`, `swim`, `walk`, `hike`, `row`, `ski`, `strength`, ...")
    sub_sport: str | None = None
    sport_type: str = Field(description="The provider's own type.")
    name: str | None = None
    start_time: datetime
    timezone: str | None = None
    utc_offset_seconds: int | None = None
    elapsed_time_s: int | None = None
    moving_time_s: int | None = None
    distance_m: float | None = None
    elevation_gain_m: float | None = None
    average_heartrate: float | None = None
    max_heartrate: float | None = None
    average_power_w: float | None = None
    normalized_power_w: float | None = None
    average_speed_mps: float | None = None
    calories: float | None = None
    device_name: str | None = None
    is_manual: bool = False
    duplicate_of: str | None = None


class ActivityDeleted(BaseModel):
    """An activity is gone: deleted at the provider, or erased with the athlete's provider data."""

    model_config = ConfigDict(extra="ignore")

    activity_id: str
    user_id: str
    provider: Provider
    external_id: str
    reason: Literal["deleted_at_provider", "provider_data_erased"]
    deleted_at: datetime


class ActivityMerged(BaseModel):
    """Two providers' copies of one workout were recognized as the same: `kept_activity_id` is shown,
    `duplicate_activity_id` is kept as its lineage. `undone` marks the event that separates them again."""

    model_config = ConfigDict(extra="ignore")

    merge_id: str
    user_id: str
    kept_activity_id: str
    kept_provider: Provider
    duplicate_activity_id: str
    duplicate_provider: Provider
    undone: bool = False
    at: datetime
