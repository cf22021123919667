"""HTTP endpoints of the ingestion service."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.security import APIKeyHeader

from ingestion import service
from ingestion.config import Settings
from ingestion.models import ApiKey
from ingestion.schemas import BridgeUploadAccepted, StravaWebhookEvent, SubscriptionChallenge, WebhookAccepted
from relay_platform.db import SessionDep
from relay_platform.errors import AppError

router = APIRouter(tags=["webhooks"])
STRAVA_WEBHOOK_PATHS = ("/api/webhook/strava", "/api/webhooks/strava")
MAX_BRIDGE_UPLOAD_BYTES = 5 * 1024 * 1024

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="The athlete's API key for the bridge app (`qt_...`), created in the Relay app.",
)


class PayloadTooLarge(AppError):
    status_code, code = 413, "payload_too_large"


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


async def bridge_api_key(
    session: SessionDep, presented: Annotated[str | None, Security(api_key_header)]
) -> ApiKey:
    key = await service.verify_api_key(session, presented)
    structlog.contextvars.bind_contextvars(user_id=key.user_id)
    return key


BridgeApiKey = Annotated[ApiKey, Depends(bridge_api_key)]


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The request body, or `PayloadTooLarge` as soon as it is known to exceed `limit` bytes (from its
    Content-Length, or while it streams in without one)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body exceeds {limit} bytes", details={"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes", details={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


_BRIDGE_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": 'A Health Auto Export document: `{"data": {"metrics": [...], '
                    '"workouts": [...]}}`, at most 5 MB.',
                }
            }
        },
    }
}


@router.post(
    "/api/webhooks/ingest",
    status_code=202,
    response_model=BridgeUploadAccepted,
    summary="Upload from a bridge app (Apple Health, Google Fit)",
    openapi_extra=_BRIDGE_UPLOAD_BODY,
    responses={
        400: {"description": "The body is not a JSON object."},
        401: {"description": "Missing, unknown or revoked API key."},
        413: {"description": "The body is over 5 MB."},
    },
)
async def receive_bridge_upload(
    request: Request, key: BridgeApiKey, session: SessionDep
) -> BridgeUploadAccepted:
    """An upload of the bridge apps that export Apple Health or Google Fit data ("Health Auto Export"
    JSON, `{"data": {"metrics": [...], "workouts": [...]}}`), authenticated by the athlete's API key in
    `X-API-Key`.

    The payload is stored as it arrived before the 202 is sent, so an accepted upload is never lost; the
    same upload sent again is answered with the id it already has and stores nothing more. Its content
    is not interpreted yet: normalizing its metrics and workouts into activities is a later piece of
    work, which will start from the stored uploads. Each accepted request records the key's last use;
    identity hears of it through `ingestion.api_key.used`, at most once a minute per key."""
    body = await read_capped_body(request, MAX_BRIDGE_UPLOAD_BYTES)
    payload = service.read_bridge_payload(body)
    upload_id = await service.accept_bridge_upload(
        session, key, payload, topic_prefix=_settings(request).kafka_topic_prefix
    )
    return BridgeUploadAccepted(upload_id=upload_id)
