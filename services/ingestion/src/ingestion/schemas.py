"""Request and response bodies of the ingestion service's HTTP API."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StravaWebhookEvent(BaseModel):
    """What Strava POSTs to the webhook callback: ids only, the data must be fetched."""

    model_config = ConfigDict(extra="allow")

    object_type: Literal["activity", "athlete"]
    object_id: int = Field(ge=0)
    aspect_type: Literal["create", "update", "delete"]
    updates: dict[str, str | bool | int | float] = Field(default_factory=dict)
    owner_id: int = Field(ge=0)
    subscription_id: int = Field(ge=0)
    event_time: int = Field(ge=0, description="Unix time of the change at Strava.")


class WebhookAccepted(BaseModel):
    received: bool = True


class BridgeUploadAccepted(BaseModel):
    received: bool = True
    upload_id: uuid.UUID = Field(description="Relay's id of the stored upload; the same for a redelivery.")


class SubscriptionChallenge(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    hub_challenge: str = Field(alias="hub.challenge", serialization_alias="hub.challenge")
