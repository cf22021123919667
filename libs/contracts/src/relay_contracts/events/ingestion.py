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
