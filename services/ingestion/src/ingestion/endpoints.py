"""HTTP endpoints of the ingestion service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ingestion import service
from ingestion.config import Settings
from ingestion.schemas import StravaWebhookEvent, SubscriptionChallenge, WebhookAccepted
from relay_platform.db import SessionDep

router = APIRouter(tags=["webhooks"])
STRAVA_WEBHOOK_PATHS = ("/api/webhook/strava", "/api/webhooks/strava")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


async def confirm_strava_subscription(
    request: Request,
    mode: Annotated[str, Query(alias="hub.mode")],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=512)],
    verify_token: Annotated[str, Query(alias="hub.verify_token", max_length=512)],
) -> SubscriptionChallenge:
    """Strava's subscription check: answers `{"hub.challenge": ...}` when the verify token is ours."""
    expected = _settings(request).strava_verify_token.get_secret_value()
    return SubscriptionChallenge(
        hub_challenge=service.confirm_strava_subscription(mode, verify_token, challenge, expected)
    )


async def receive_strava_event(
    request: Request, event: StravaWebhookEvent, session: SessionDep
) -> WebhookAccepted:
    """A Strava notification. It is stored (and its event staged) before the 200 is sent, so an
    acknowledged notification is never lost; a redelivery is acknowledged and changes nothing."""
    settings = _settings(request)
    await service.accept_strava_event(
        session,
        event,
        expected_subscription_id=settings.strava_subscription_id,
        topic_prefix=settings.kafka_topic_prefix,
    )
    return WebhookAccepted()


for path in STRAVA_WEBHOOK_PATHS:
    router.add_api_route(
        path,
        confirm_strava_subscription,
        methods=["GET"],
        response_model=SubscriptionChallenge,
        response_model_by_alias=True,
        summary="Strava webhook subscription check",
    )
    router.add_api_route(
        path,
        receive_strava_event,
        methods=["POST"],
        response_model=WebhookAccepted,
        summary="Strava webhook event",
    )
