"""The providers' webhooks and the bridge apps' uploads: verified, made durable, then acknowledged.

For every webhook: a provider whose secret is not configured answers 404 (`webhook_not_configured`:
nothing could be verified); a body over its limit is refused before it is read (413); the provider's
proof of origin is checked before anything in the body is parsed, signatures on the raw bytes (401);
a body of another shape is refused (400); what Relay uses is stored, with its
`ingestion.webhook.received` event, and committed before the answer, so an acknowledged notification
is never lost. A redelivered notification is acknowledged and changes nothing. Reading what the
notifications point to is the worker's job: the answer never waits for a provider."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, SecretStr
from starlette.exceptions import HTTPException

from ingestion import intake, service, webhooks
from ingestion.config import Settings
from ingestion.models import ApiKey
from ingestion.providers.base import Notification
from ingestion.resources import ingestion_from
from ingestion.schemas import BridgeUploadAccepted, StravaWebhookEvent, SubscriptionChallenge, WebhookAccepted
from relay_platform.db import SessionDep
from relay_platform.errors import AppError
from relay_platform.logging import get_logger

log = get_logger(__name__)


class CountedDeliveries(APIRoute):
    """Each delivery to a webhook (its POST) is counted by provider and outcome
    (`relay_ingestion_webhooks_total`): the request metrics name the route, not the provider, and see
    only the status, which Fitbit's refusals share with an unconfigured provider."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if "POST" not in (self.methods or ()):
            return handle
        provider = "health_bridge" if self.path == "/api/webhooks/ingest" else self.path.rsplit("/", 1)[-1]

        async def counted(request: Request) -> Response:
            try:
                response = await handle(request)
            except Exception as error:
                _count(request, provider, _outcome_of(error))
                raise
            _count(request, provider, webhooks.webhook_outcome(response.status_code))
            return response

        return counted


def _outcome_of(error: Exception) -> str:
    if isinstance(error, AppError):
        return webhooks.webhook_outcome(error.status_code, error.code)
    if isinstance(error, RequestValidationError):
        return "invalid"
    if isinstance(error, HTTPException):
        return webhooks.webhook_outcome(error.status_code)
    return "failed"


def _count(request: Request, provider: str, outcome: str) -> None:
    # Nothing to count with when the endpoints run without the service's lifespan and its resources.
    resources = getattr(getattr(request.app.state, "runtime", None), "resources", None)
    metrics: webhooks.WebhookMetrics | None = getattr(resources, "webhook_metrics", None)
    if metrics is not None:
        metrics.received(provider, outcome)


router = APIRouter(tags=["webhooks"], route_class=CountedDeliveries)
STRAVA_WEBHOOK_PATHS = ("/api/webhook/strava", "/api/webhooks/strava")
MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_GARMIN_PUSH_BYTES = 10 * 1024 * 1024
"""Garmin pushes batches of summaries (a backfill's can be large)."""
MAX_BRIDGE_UPLOAD_BYTES = 5 * 1024 * 1024

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="The athlete's API key for the bridge app (`qt_...`), created in the Relay app.",
)


class PayloadTooLarge(AppError):
    status_code, code = 413, "payload_too_large"


class CorosAcknowledgement(BaseModel):
    """What COROS expects back from a push it delivered."""

    result: str = "0000"
    message: str = "OK"


class OuraChallenge(BaseModel):
    challenge: str


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


def _configured(value: SecretStr | str | None, provider: str) -> str:
    """The provider's setting, or 404: without it nothing the provider sends can be verified."""
    configured = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not configured:
        raise webhooks.WebhookNotConfigured(
            f"Webhooks of {provider} are not configured", details={"provider": provider}
        )
    return configured


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


async def _accept(request: Request, provider: str, notifications: list[Notification]) -> None:
    new = await ingestion_from(request).intake.accept(notifications)
    log.info("webhook_accepted", provider=provider, notifications=len(notifications), new=new)


def _json_body(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request body as OpenAPI shows it (the endpoints read the raw bytes themselves, to verify
    them before parsing)."""
    shown = schema or {"type": "object"}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {**shown, "description": description}}},
        }
    }


def _refusals(
    *statuses: int, unauthorized: str = "The proof of origin is missing or wrong."
) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "The body is not of the provider's documented shape; nothing is stored.",
        401: unauthorized + " Nothing is stored.",
        404: "Webhooks of this provider are not configured (`webhook_not_configured`).",
        413: "The body is over the limit; it is not read.",
    }
    return {status: {"description": described[status]} for status in statuses}


# -- Strava ----------------------------------------------------------------------------------------


async def confirm_strava_subscription(
    request: Request,
    mode: Annotated[str, Query(alias="hub.mode")],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=512)],
    verify_token: Annotated[str, Query(alias="hub.verify_token", max_length=512)],
) -> SubscriptionChallenge:
    """Strava's subscription check: answers `{"hub.challenge": ...}` when the verify token is ours
    (403 otherwise)."""
    expected = _settings(request).strava_verify_token.get_secret_value()
    return SubscriptionChallenge(
        hub_challenge=service.confirm_strava_subscription(mode, verify_token, challenge, expected)
    )


async def receive_strava_event(request: Request) -> WebhookAccepted:
    """A Strava event: `{object_type, object_id, aspect_type, updates, owner_id, subscription_id,
    event_time}`, ids only (a deauthorization is an athlete update with `authorized: "false"`).

    Strava signs nothing: an event of another subscription than Relay's (when
    `INGESTION_STRAVA_SUBSCRIPTION_ID` is set) is refused (401). The event is stored before the 200 is
    sent, well within Strava's 2 seconds; the activity is read afterwards."""
    settings = _settings(request)
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    notifications = webhooks.strava_notifications(
        body, expected_subscription_id=settings.strava_subscription_id
    )
    await _accept(request, "strava", notifications)
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
        openapi_extra=_json_body("A Strava webhook event.", StravaWebhookEvent.model_json_schema()),
        responses=_refusals(400, 401, 413, unauthorized="An event of another webhook subscription."),
    )


# -- Garmin ----------------------------------------------------------------------------------------


@router.post(
    "/api/webhooks/garmin",
    response_model=WebhookAccepted,
    summary="Garmin push and ping notifications",
    openapi_extra=_json_body(
        'Garmin summaries by type: `{"activities": [...], "deregistrations": [...], ...}`, at most 10 MB.'
    ),
    responses=_refusals(400, 401, 404, 413, unauthorized="`garmin-client-id` is not Relay's application."),
)
async def receive_garmin_notifications(
    request: Request,
    garmin_client_id: Annotated[str | None, Header(alias="garmin-client-id")] = None,
) -> WebhookAccepted:
    """Garmin's Health and Activity API notifications, for every summary type configured to this URL.

    Garmin signs nothing: its `garmin-client-id` header must be Relay's application id
    (`INGESTION_GARMIN__CLIENT_ID`, without which this answers 404) and the body must have Garmin's
    documented shape, lists of summaries by type. Stored: `activities` and `manuallyUpdatedActivities`,
    pushed (the summary itself) or pinged (a `callbackURL` to read them from);
    `deregistrations` (the athlete removed Relay: a deauthorization) and `userPermissionsChange`.
    Other types (`activityDetails`, `moveIQActivities`, `dailies`, `sleeps`, ...) are acknowledged and
    dropped. Answers 200 once stored."""
    settings = _settings(request)
    client_id = _configured(settings.feed("garmin").client_id, "garmin")
    webhooks.verify_garmin_client(garmin_client_id, client_id=client_id)
    body = await read_capped_body(request, MAX_GARMIN_PUSH_BYTES)
    notifications = webhooks.garmin_notifications(body, received_at=datetime.now(UTC))
    await _accept(request, "garmin", notifications)
    return WebhookAccepted()


# -- COROS -----------------------------------------------------------------------------------------


@router.post(
    "/api/webhooks/coros",
    response_model=CorosAcknowledgement,
    summary="COROS workout push",
    openapi_extra=_json_body('`{"sportDataList": [{openId, labelId, mode, subMode, startTime, ...}]}`.'),
    responses=_refusals(400, 401, 404, 413, unauthorized="`Client` or `Secret` is not Relay's."),
)
async def receive_coros_push(
    request: Request,
    client: Annotated[str | None, Header(alias="Client")] = None,
    secret: Annotated[str | None, Header(alias="Secret")] = None,
) -> CorosAcknowledgement:
    """COROS's push of workout summaries (about every 5 minutes, and 30 days of history when an
    athlete links COROS), proven by its `Client` and `Secret` headers: Relay's application id and
    secret (`INGESTION_COROS__CLIENT_ID`, `INGESTION_COROS__CLIENT_SECRET`; 404 without them). Each
    summary of `sportDataList` is stored with its data; answers `{"result": "0000", "message": "OK"}`."""
    feed = _settings(request).feed("coros")
    client_id = _configured(feed.client_id, "coros")
    client_secret = _configured(feed.client_secret, "coros")
    webhooks.verify_coros_credentials(client, secret, client_id=client_id, client_secret=client_secret)
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    notifications = webhooks.coros_notifications(body, received_at=datetime.now(UTC))
    await _accept(request, "coros", notifications)
    return CorosAcknowledgement()


# -- Polar -----------------------------------------------------------------------------------------


@router.post(
    "/api/webhooks/polar",
    response_model=WebhookAccepted,
    summary="Polar AccessLink webhook event",
    openapi_extra=_json_body('`{"event": "EXERCISE", "user_id", "entity_id", "timestamp", "url"}`.'),
    responses=_refusals(400, 401, 404, 413),
)
async def receive_polar_event(
    request: Request,
    signature: Annotated[str | None, Header(alias="Polar-Webhook-Signature")] = None,
) -> WebhookAccepted:
    """A Polar AccessLink event, signed in `Polar-Webhook-Signature` (hex HMAC-SHA256 of the body with
    the key shown once when the webhook was created, `INGESTION_POLAR__WEBHOOK_SECRET`; 404 without
    it).

    The `PING` Polar sends when the webhook is created is answered 200 and nothing else: the key does
    not exist on our side until that creation succeeds. `EXERCISE` is stored (the exercise is read
    afterwards); any other event with a valid signature (`SLEEP`, `ACTIVITY_SUMMARY`, ...) is
    acknowledged and dropped."""
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    if webhooks.is_polar_ping(body):
        return WebhookAccepted()
    signature_key = _configured(_settings(request).feed("polar").webhook_secret, "polar")
    webhooks.verify_polar_signature(body, signature, signature_key)
    notifications = webhooks.polar_notifications(body, received_at=datetime.now(UTC))
    await _accept(request, "polar", notifications)
    return WebhookAccepted()


# -- Oura ------------------------------------------------------------------------------------------


@router.get(
    "/api/webhooks/oura",
    response_model=OuraChallenge,
    summary="Oura webhook subscription check",
    responses={401: {"description": "The verification token is not ours."}, **_refusals(404)},
)
async def confirm_oura_subscription(
    request: Request,
    verification_token: Annotated[str, Query(max_length=512)],
    challenge: Annotated[str, Query(max_length=512)],
) -> OuraChallenge:
    """Oura's check when a subscription is created: answers `{"challenge": ...}` when
    `verification_token` is ours (`INGESTION_OURA__VERIFY_TOKEN`; 404 without it), 401 otherwise."""
    expected = _configured(_settings(request).feed("oura").verify_token, "oura")
    return OuraChallenge(
        challenge=webhooks.confirm_oura_subscription(verification_token, challenge, expected)
    )


@router.post(
    "/api/webhooks/oura",
    response_model=WebhookAccepted,
    summary="Oura webhook event",
    openapi_extra=_json_body(
        '`{"event_type", "data_type": "workout", "object_id", "event_time", "user_id"}`.'
    ),
    responses=_refusals(
        400, 401, 404, 413, unauthorized="The signature is missing, wrong or older than 5 minutes."
    ),
)
async def receive_oura_event(
    request: Request,
    signature: Annotated[str | None, Header(alias="x-oura-signature")] = None,
    timestamp: Annotated[str | None, Header(alias="x-oura-timestamp")] = None,
) -> WebhookAccepted:
    """An Oura event, signed in `x-oura-signature`: HMAC-SHA256 of `x-oura-timestamp` followed by the
    body, with the client secret (`INGESTION_OURA__CLIENT_SECRET`; 404 without it). A signature more
    than 5 minutes from our clock is refused (`stale_signature`). Workout events are stored (the
    workout is read afterwards); other data types are acknowledged and dropped."""
    client_secret = _configured(_settings(request).feed("oura").client_secret, "oura")
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    now = datetime.now(UTC)
    webhooks.verify_oura_signature(body, signature, timestamp, client_secret, now=now)
    await _accept(request, "oura", webhooks.oura_notifications(body, received_at=now))
    return WebhookAccepted()


# -- WHOOP -----------------------------------------------------------------------------------------


@router.post(
    "/api/webhooks/whoop",
    response_model=WebhookAccepted,
    summary="WHOOP webhook event",
    openapi_extra=_json_body('`{"user_id", "id", "type": "workout.updated", "trace_id"}`.'),
    responses=_refusals(
        400, 401, 404, 413, unauthorized="The signature is missing, wrong or older than 5 minutes."
    ),
)
async def receive_whoop_event(
    request: Request,
    signature: Annotated[str | None, Header(alias="X-WHOOP-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-WHOOP-Signature-Timestamp")] = None,
) -> WebhookAccepted:
    """A WHOOP event, signed in `X-WHOOP-Signature`: base64 of HMAC-SHA256 of
    `X-WHOOP-Signature-Timestamp` (milliseconds) followed by the body, with the client secret
    (`INGESTION_WHOOP__CLIENT_SECRET`; 404 without it). A signature more than 5 minutes from our clock
    is refused (`stale_signature`). `workout.updated` and `workout.deleted` are stored; `sleep.*` and
    `recovery.*` are acknowledged and dropped."""
    client_secret = _configured(_settings(request).feed("whoop").client_secret, "whoop")
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    signed_at = webhooks.verify_whoop_signature(
        body, signature, timestamp, client_secret, now=datetime.now(UTC)
    )
    await _accept(request, "whoop", webhooks.whoop_notifications(body, signed_at=signed_at))
    return WebhookAccepted()


# -- Fitbit ----------------------------------------------------------------------------------------


@router.get(
    "/api/webhooks/fitbit",
    status_code=204,
    response_class=Response,
    summary="Fitbit subscriber verification",
    responses={404: {"description": "The code is not ours, or Fitbit webhooks are not configured."}},
)
async def confirm_fitbit_subscriber(
    request: Request, verify: Annotated[str, Query(max_length=512)]
) -> Response:
    """Fitbit's subscriber verification: 204 when `verify` is our verification code
    (`INGESTION_FITBIT__VERIFY_TOKEN`), 404 for any other (Fitbit sends a wrong one on purpose)."""
    expected = _configured(_settings(request).feed("fitbit").verify_token, "fitbit")
    webhooks.confirm_fitbit_subscriber(verify, expected)
    return Response(status_code=204)


@router.post(
    "/api/webhooks/fitbit",
    status_code=204,
    response_class=Response,
    summary="Fitbit subscription notifications",
    openapi_extra=_json_body(
        "`[{collectionType, date, ownerId, ownerType, subscriptionId}, ...]`.", {"type": "array"}
    ),
    responses={
        **_refusals(400, 413),
        404: {
            "description": "The signature is missing or wrong (a 404, as Fitbit asks), or Fitbit webhooks "
            "are not configured. Nothing is stored."
        },
    },
)
async def receive_fitbit_notifications(
    request: Request,
    signature: Annotated[str | None, Header(alias="X-Fitbit-Signature")] = None,
) -> Response:
    """Fitbit's notifications, signed in `X-Fitbit-Signature`: base64 of HMAC-SHA1 of the body keyed
    with the client secret followed by `&` (`INGESTION_FITBIT__CLIENT_SECRET`). As Fitbit's
    documentation asks, a wrong signature is answered 404. `activities` notifications are stored (the
    day's activities are listed afterwards), `userRevokedAccess` and `deleteUser` as deauthorizations;
    other collections are acknowledged and dropped. Answers 204, as Fitbit expects within 5 seconds.
    A notification about a day that is already waiting to be read changes nothing."""
    client_secret = _configured(_settings(request).feed("fitbit").client_secret, "fitbit")
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    webhooks.verify_fitbit_signature(body, signature, client_secret)
    await _accept(request, "fitbit", webhooks.fitbit_notifications(body, received_at=datetime.now(UTC)))
    return Response(status_code=204)


# -- Wahoo -----------------------------------------------------------------------------------------


@router.post(
    "/api/webhooks/wahoo",
    response_model=WebhookAccepted,
    summary="Wahoo webhook event",
    openapi_extra=_json_body(
        '`{"event_type": "workout_summary", "webhook_token", "user": {"id"}, "workout_summary": {...}}`.'
    ),
    responses=_refusals(400, 401, 404, 413, unauthorized="`webhook_token` is not ours."),
)
async def receive_wahoo_event(request: Request) -> WebhookAccepted:
    """A Wahoo event, proven by the `webhook_token` in its body (`INGESTION_WAHOO__WEBHOOK_SECRET`; 404
    without it), compared before anything else is read from it. A `workout_summary` carries the
    workout: the summary with its workout is stored (never the token); other events are acknowledged
    and dropped."""
    webhook_token = _configured(_settings(request).feed("wahoo").webhook_secret, "wahoo")
    body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
    notifications = webhooks.wahoo_notifications(
        body, webhook_token=webhook_token, received_at=datetime.now(UTC)
    )
    await _accept(request, "wahoo", notifications)
    return WebhookAccepted()


# -- Bridge apps -----------------------------------------------------------------------------------


async def bridge_api_key(
    session: SessionDep, presented: Annotated[str | None, Security(api_key_header)]
) -> ApiKey:
    key = await service.verify_api_key(session, presented)
    structlog.contextvars.bind_contextvars(user_id=key.user_id)
    return key


BridgeApiKey = Annotated[ApiKey, Depends(bridge_api_key)]


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
    same upload sent again is answered with the id it already has and stores nothing more. Its workouts
    become the athlete's activities (`health_bridge`), upserted by their id: the periods of successive
    uploads overlap, and a workout sent again changes nothing. Each accepted request records the key's
    last use; identity hears of it through `ingestion.api_key.used`, at most once a minute per key."""
    body = await read_capped_body(request, MAX_BRIDGE_UPLOAD_BYTES)
    payload = service.read_bridge_payload(body)
    topic_prefix = _settings(request).kafka_topic_prefix
    upload_id = await service.accept_bridge_upload(session, key, payload, topic_prefix=topic_prefix)
    workouts = service.bridge_workouts(payload)
    if workouts:
        upload = Notification(
            provider="health_bridge",
            owner_id=key.user_id,
            object_type="upload",
            object_id=str(upload_id),
            aspect_type="create",
            event_time=datetime.now(UTC),
            payload={"workouts": workouts},
        )
        await intake.accept_notifications(session, [upload], topic_prefix=topic_prefix)
    return BridgeUploadAccepted(upload_id=upload_id)
