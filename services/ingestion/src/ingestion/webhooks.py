"""The providers' webhooks: each provider's proof of origin checked on the raw body, its notifications
read into `Notification`s (pure functions), and the use case that makes them durable before they are
acknowledged.

What each provider lets Relay verify:
- Strava: nothing (unsigned); events of another subscription than Relay's are refused.
- Garmin: nothing signed; its `garmin-client-id` header must name Relay's application, and only its
  documented shape is accepted.
- COROS: its `Client` and `Secret` headers carry Relay's application id and secret.
- Polar: `Polar-Webhook-Signature`, hex HMAC-SHA256 of the body with the webhook's signature key.
- Oura: `x-oura-signature`, hex HMAC-SHA256 of `x-oura-timestamp` + body with the client secret.
- WHOOP: `X-WHOOP-Signature`, base64 HMAC-SHA256 of `X-WHOOP-Signature-Timestamp` + body with the
  client secret.
- Fitbit: `X-Fitbit-Signature`, base64 HMAC-SHA1 of the body with the client secret and `&`.
- Wahoo: the `webhook_token` inside the body."""

from __future__ import annotations

import base64
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, BeforeValidator, StringConstraints, ValidationError

from ingestion.config import PROVIDER_API_URLS
from ingestion.providers.base import Notification
from ingestion.schemas import StravaWebhookEvent, UnixTime
from relay_platform.errors import InvalidInput, NotFound, Unauthorized

SIGNATURE_WINDOW = timedelta(minutes=5)
"""How far a signed timestamp may be from our clock: an older request is a replay."""

DEAUTHORIZED: dict[str, Any] = {"authorized": "false"}
"""What a deauthorization says, in Strava's words, which the connections service acts on."""


class WebhookNotConfigured(NotFound):
    code = "webhook_not_configured"


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class StaleSignature(Unauthorized):
    code = "stale_signature"


class UnknownSender(Unauthorized):
    code = "unknown_sender"


class FitbitSignatureMismatch(NotFound):
    """Fitbit's documentation asks for a 404 to a notification whose signature does not match."""

    code = "invalid_signature"


# -- What came in ----------------------------------------------------------------------------------

WEBHOOK_PROVIDERS = (*PROVIDER_API_URLS, "health_bridge")
"""Whose deliveries are counted: the providers' webhooks and the bridge apps' uploads."""
WEBHOOK_OUTCOMES = ("accepted", "rejected_signature", "invalid", "not_configured", "too_large", "failed")
"""How a delivery is answered: `accepted` (2xx, stored or deliberately dropped), `rejected_signature`
(its proof of origin is missing, wrong or stale: a signature, the application's secret or token, the
subscription, a bridge app's API key), `invalid` (not of the provider's shape), `not_configured` (the
provider's secret is not set), `too_large`, `failed` (Relay could not store it)."""
REJECTED_ORIGIN_CODES = frozenset({"invalid_signature", "stale_signature", "unknown_sender"})


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "relay_ingestion_webhooks_total",
            "Webhook deliveries and bridge uploads received, by provider and how they were answered.",
            ["provider", "outcome"],
            registry=registry,
        )
        for provider in WEBHOOK_PROVIDERS:
            for outcome in WEBHOOK_OUTCOMES:
                self.deliveries.labels(provider=provider, outcome=outcome)

    def received(self, provider: str, outcome: str) -> None:
        self.deliveries.labels(provider=provider, outcome=outcome).inc()


def webhook_outcome(status: int, code: str | None = None) -> str:
    """The outcome of a delivery answered with `status` (and the error `code`, for a refusal)."""
    if status < 400:
        return "accepted"
    if status == 401 or code in REJECTED_ORIGIN_CODES:
        return "rejected_signature"
    if code == WebhookNotConfigured.code:
        return "not_configured"
    if status == 413:
        return "too_large"
    if status in (400, 422):
        return "invalid"
    return "failed"


# -- Proofs of origin ------------------------------------------------------------------------------


def _same(presented: str, expected: str | bytes) -> bool:
    expected_bytes = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(presented.strip().encode(), expected_bytes)


def _hmac(key: str, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key.encode(), message, algorithm).digest()


def _signed_at(timestamp: str, *, per_second: int, now: datetime, header: str) -> datetime:
    """When a request whose signature covers `timestamp` was signed; `StaleSignature` outside the
    replay window."""
    value = timestamp.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 16:
        raise InvalidSignature("The signature timestamp is not a number", details={"header": header})
    try:
        signed_at = datetime.fromtimestamp(int(value) / per_second, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidSignature("The signature timestamp is out of range", details={"header": header}) from exc
    if abs(now - signed_at) > SIGNATURE_WINDOW:
        raise StaleSignature(
            "The signature is older than the replay window",
            details={"header": header, "window_seconds": int(SIGNATURE_WINDOW.total_seconds())},
        )
    return signed_at


def verify_polar_signature(body: bytes, signature: str | None, signature_key: str) -> None:
    """Polar signs the raw body: hex HMAC-SHA256 with the key shown when the webhook was created."""
    if not signature:
        raise InvalidSignature("Missing signature", details={"header": "Polar-Webhook-Signature"})
    expected = _hmac(signature_key, body).hex()
    if not _same(signature.lower(), expected):
        raise InvalidSignature("The signature does not match", details={"header": "Polar-Webhook-Signature"})


def verify_oura_signature(
    body: bytes, signature: str | None, timestamp: str | None, client_secret: str, *, now: datetime
) -> datetime:
    """Oura signs `x-oura-timestamp` (Unix seconds) + the raw body: HMAC-SHA256 with the client secret,
    in upper-case hex (compared whatever its case). Returns when it was signed."""
    if not signature or not timestamp:
        raise InvalidSignature("Missing signature", details={"header": "x-oura-signature"})
    expected = _hmac(client_secret, timestamp.strip().encode() + body).hex().upper()
    if not _same(signature.upper(), expected):
        raise InvalidSignature("The signature does not match", details={"header": "x-oura-signature"})
    return _signed_at(timestamp, per_second=1, now=now, header="x-oura-timestamp")


def verify_whoop_signature(
    body: bytes, signature: str | None, timestamp: str | None, client_secret: str, *, now: datetime
) -> datetime:
    """WHOOP signs `X-WHOOP-Signature-Timestamp` (Unix milliseconds) + the raw body: base64 of
    HMAC-SHA256 with the client secret. Returns when it was signed."""
    if not signature or not timestamp:
        raise InvalidSignature("Missing signature", details={"header": "X-WHOOP-Signature"})
    expected = base64.b64encode(_hmac(client_secret, timestamp.strip().encode() + body))
    if not _same(signature, expected):
        raise InvalidSignature("The signature does not match", details={"header": "X-WHOOP-Signature"})
    return _signed_at(timestamp, per_second=1000, now=now, header="X-WHOOP-Signature-Timestamp")


def verify_fitbit_signature(body: bytes, signature: str | None, client_secret: str) -> None:
    """Fitbit signs the raw body: base64 of HMAC-SHA1 keyed with the client secret followed by `&`.
    A mismatch is a 404, as Fitbit's documentation asks."""
    if not signature:
        raise FitbitSignatureMismatch("Missing signature", details={"header": "X-Fitbit-Signature"})
    expected = base64.b64encode(_hmac(client_secret + "&", body, "sha1"))
    if not _same(signature, expected):
        raise FitbitSignatureMismatch(
            "The signature does not match", details={"header": "X-Fitbit-Signature"}
        )


def verify_coros_credentials(
    client: str | None, secret: str | None, *, client_id: str, client_secret: str
) -> None:
    """COROS sends Relay's application id and secret in its `Client` and `Secret` headers."""
    # Both are compared, whatever the first gives, so that timing tells nothing about either.
    client_matches = _same(client or "", client_id)
    secret_matches = _same(secret or "", client_secret)
    if not (client and secret and client_matches and secret_matches):
        raise UnknownSender("Unknown client or secret", details={"header": "Client, Secret"})


def verify_garmin_client(presented: str | None, *, client_id: str) -> None:
    """Garmin names the application it delivers to in `garmin-client-id` (not a secret: Garmin signs
    nothing, so what it sends is also checked against its documented shape)."""
    if not presented or not _same(presented, client_id):
        raise UnknownSender("Unknown client", details={"header": "garmin-client-id"})


def confirm_oura_subscription(verification_token: str, challenge: str, expected_token: str) -> str:
    """Oura's subscription check: the challenge is echoed only to whoever knows our verification token."""
    if not _same(verification_token, expected_token):
        raise Unauthorized("Unknown verification token", details={"field": "verification_token"})
    return challenge


def confirm_fitbit_subscriber(code: str, expected_code: str) -> None:
    """Fitbit's subscriber verification: our code is confirmed (204), any other is unknown (404)."""
    if not _same(code, expected_code):
        raise NotFound("Unknown verification code", details={"field": "verify"})


# -- Reading the bodies ----------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _holds_nul(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def read_json(body: bytes) -> Any:
    """The body's JSON, or `InvalidInput`: not JSON, or holding what PostgreSQL's JSONB cannot store
    (NaN, Infinity, NUL characters)."""
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            "The body is not valid JSON", details={"field": "body", "reason": "invalid_json"}
        ) from exc
    if _holds_nul(value):
        raise InvalidInput(
            "The body contains a NUL character", details={"field": "body", "reason": "nul_character"}
        )
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    payload = read_json(body)
    if not isinstance(payload, dict):
        raise InvalidInput(
            "The body must be a JSON object", details={"field": "body", "reason": "not_an_object"}
        )
    return payload


def _as_identifier(value: Any) -> Any:
    # Providers give ids as strings or integers (Strava's, Polar's and WHOOP's users); Relay keeps text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Identifier = Annotated[
    str,
    BeforeValidator(_as_identifier),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]

Model = TypeVar("Model", bound=BaseModel)


def _read(model: type[Model], value: Any, where: str) -> Model:
    """`value` as `model`, or `InvalidInput` naming the first field that is wrong."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join([where, *(str(part) for part in problem["loc"])])
        raise InvalidInput(
            f"Invalid {field}: {problem['msg']}", details={"field": field, "reason": problem["type"]}
        ) from error


def _invalid(field: str, message: str, reason: str = "missing") -> InvalidInput:
    return InvalidInput(f"Invalid {field}: {message}", details={"field": field, "reason": reason})


def _utc(moment: datetime | None, default: datetime) -> datetime:
    if moment is None:
        return default
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _deauthorization(provider: str, owner_id: str, at: datetime, payload: dict[str, Any]) -> Notification:
    return Notification(
        provider=provider,
        owner_id=owner_id,
        object_type="athlete",
        object_id=owner_id,
        aspect_type="update",
        event_time=at,
        payload=payload,
        updates=DEAUTHORIZED,
    )


# -- Strava ----------------------------------------------------------------------------------------


def strava_notification(event: StravaWebhookEvent) -> Notification:
    return Notification(
        provider="strava",
        owner_id=str(event.owner_id),
        object_type=event.object_type,
        object_id=str(event.object_id),
        aspect_type=event.aspect_type,
        event_time=datetime.fromtimestamp(event.event_time, UTC),
        payload=event.model_dump(mode="json"),
        updates=event.updates,
    )


def strava_notifications(body: bytes, *, expected_subscription_id: int | None) -> list[Notification]:
    """A Strava event (ids only; a deauthorization is an athlete update `authorized: "false"`)."""
    event = _read(StravaWebhookEvent, _json_object(body), "body")
    if expected_subscription_id is not None and event.subscription_id != expected_subscription_id:
        raise Unauthorized("Unknown webhook subscription", details={"field": "subscription_id"})
    return [strava_notification(event)]


# -- Garmin ----------------------------------------------------------------------------------------

GARMIN_ACTIVITY_LISTS: dict[str, Literal["create", "update"]] = {
    "activities": "create",
    "manuallyUpdatedActivities": "update",
}
"""The summary lists Relay stores, with what they mean. Others are acknowledged and dropped:
`activityDetails` repeats the activities with their samples (the summaries arrive in `activities`),
`moveIQActivities` are movements the watch detected on its own, not recorded workouts, `activityFiles`
point at FIT files, and the health summaries (`dailies`, `sleeps`, ...) are not activities."""


class _GarminActivity(BaseModel):
    userId: Identifier
    activityId: Identifier | None = None
    summaryId: Identifier | None = None


class _GarminPing(BaseModel):
    userId: Identifier
    callbackURL: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=4096)]
    uploadStartTimeInSeconds: int | None = None
    uploadEndTimeInSeconds: int | None = None


class _GarminDeregistration(BaseModel):
    userId: Identifier


class _GarminPermissions(BaseModel):
    userId: Identifier
    permissions: list[Name]
    changeTimeInSeconds: UnixTime | None = None


def _without_tokens(item: dict[str, Any]) -> dict[str, Any]:
    # Garmin repeats the athlete's OAuth 1.0a access token in each item: it is never kept.
    return {key: value for key, value in item.items() if key != "userAccessToken"}


def _upload_window(ping: _GarminPing, where: str) -> str:
    """The ping's upload window, from its fields or, as Garmin sends it, its callback URL's query."""
    query = parse_qs(urlsplit(ping.callbackURL).query)
    start = ping.uploadStartTimeInSeconds or _first_int(query.get("uploadStartTimeInSeconds"))
    end = ping.uploadEndTimeInSeconds or _first_int(query.get("uploadEndTimeInSeconds"))
    if start is None or end is None:
        raise _invalid(f"{where}.callbackURL", "no upload window (uploadStartTimeInSeconds, ...)")
    return f"{start}-{end}"


def _first_int(values: list[str] | None) -> int | None:
    return int(values[0]) if values and values[0].isascii() and values[0].isdigit() else None


def _garmin_activity(kind: str, index: int, item: dict[str, Any], received_at: datetime) -> Notification:
    where = f"{kind}.{index}"
    aspect = GARMIN_ACTIVITY_LISTS[kind]
    if "callbackURL" in item:
        ping = _read(_GarminPing, item, where)
        return Notification(
            provider="garmin",
            owner_id=ping.userId,
            object_type="activities",
            object_id=_upload_window(ping, where),
            aspect_type=aspect,
            event_time=received_at,
            payload=_without_tokens(item),
        )
    summary = _read(_GarminActivity, item, where)
    object_id = summary.activityId or summary.summaryId
    if object_id is None:
        raise _invalid(f"{where}.activityId", "an activity needs its activityId or summaryId")
    return Notification(
        provider="garmin",
        owner_id=summary.userId,
        object_type="activity",
        object_id=object_id,
        aspect_type=aspect,
        event_time=received_at,
        payload=_without_tokens(item),
    )


def garmin_notifications(body: bytes, *, received_at: datetime) -> list[Notification]:
    """A Garmin push or ping: `{"<summary type>": [{...}, ...], ...}`. Activity summaries (pushed) and
    pings (a `callbackURL` to read them from) are stored, as are deregistrations (a deauthorization)
    and permission changes; other summary types are acknowledged and dropped."""
    payload = _json_object(body)
    if not payload:
        raise _invalid("body", "no summary list")
    notifications: list[Notification] = []
    for kind, items in payload.items():
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _invalid(kind, "must be a list of objects", "not_a_list")
        for index, item in enumerate(items):
            if kind in GARMIN_ACTIVITY_LISTS:
                notifications.append(_garmin_activity(kind, index, item, received_at))
            elif kind == "deregistrations":
                gone = _read(_GarminDeregistration, item, f"{kind}.{index}")
                notifications.append(
                    _deauthorization("garmin", gone.userId, received_at, _without_tokens(item))
                )
            elif kind == "userPermissionsChange":
                change = _read(_GarminPermissions, item, f"{kind}.{index}")
                changed_at = (
                    datetime.fromtimestamp(change.changeTimeInSeconds, UTC)
                    if change.changeTimeInSeconds is not None
                    else received_at
                )
                notifications.append(
                    Notification(
                        provider="garmin",
                        owner_id=change.userId,
                        object_type="athlete",
                        object_id=change.userId,
                        aspect_type="update",
                        event_time=changed_at,
                        payload=_without_tokens(item),
                        updates={"permissions": change.permissions},
                    )
                )
    return notifications


# -- COROS -----------------------------------------------------------------------------------------


class _CorosWorkout(BaseModel):
    openId: Identifier
    labelId: Identifier


def coros_notifications(body: bytes, *, received_at: datetime) -> list[Notification]:
    """A COROS push, `{"sportDataList": [...]}`: one notification per workout summary (a triathlon is
    one workout with its `triathlonItemList`)."""
    payload = _json_object(body)
    workouts = payload.get("sportDataList")
    if not isinstance(workouts, list) or not all(isinstance(item, dict) for item in workouts):
        raise _invalid("sportDataList", "must be a list of workout summaries", "not_a_list")
    notifications = []
    for index, item in enumerate(workouts):
        workout = _read(_CorosWorkout, item, f"sportDataList.{index}")
        notifications.append(
            Notification(
                provider="coros",
                owner_id=workout.openId,
                object_type="activity",
                object_id=workout.labelId,
                aspect_type="create",
                event_time=received_at,
                payload=item,
            )
        )
    return notifications


# -- Polar -----------------------------------------------------------------------------------------


class _PolarEvent(BaseModel):
    event: Name


class _PolarExercise(BaseModel):
    user_id: Identifier
    entity_id: Identifier
    timestamp: datetime | None = None


def is_polar_ping(body: bytes) -> bool:
    """Whether the body is the PING Polar sends when the webhook is created, before its signature key
    is known to anyone but Polar (it changes nothing here, so it needs no proof)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(payload, dict) and payload.get("event") == "PING"


def polar_notifications(body: bytes, *, received_at: datetime) -> list[Notification]:
    """A Polar event: `EXERCISE` (a new training session, read from `/v3/exercises/{entity_id}`) is
    stored; the others (`SLEEP`, `ACTIVITY_SUMMARY`, `CONTINUOUS_HEART_RATE`, ...) are not Relay's."""
    payload = _json_object(body)
    event = _read(_PolarEvent, payload, "body")
    if event.event != "EXERCISE":
        return []
    exercise = _read(_PolarExercise, payload, "body")
    return [
        Notification(
            provider="polar",
            owner_id=exercise.user_id,
            object_type="activity",
            object_id=exercise.entity_id,
            aspect_type="create",
            event_time=_utc(exercise.timestamp, received_at),
            payload=payload,
        )
    ]


# -- Oura ------------------------------------------------------------------------------------------


class _OuraEvent(BaseModel):
    event_type: Literal["create", "update", "delete"]
    data_type: Name
    user_id: Identifier
    object_id: Identifier | None = None
    event_time: datetime | None = None


def oura_notifications(body: bytes, *, received_at: datetime) -> list[Notification]:
    """An Oura event (ids only): workouts are stored; sleep, readiness, sessions, ... are not Relay's."""
    payload = _json_object(body)
    event = _read(_OuraEvent, payload, "body")
    if event.data_type != "workout":
        return []
    if event.object_id is None:
        raise _invalid("body.object_id", "a workout event needs its object_id")
    return [
        Notification(
            provider="oura",
            owner_id=event.user_id,
            object_type="activity",
            object_id=event.object_id,
            aspect_type=event.event_type,
            event_time=_utc(event.event_time, received_at),
            payload=payload,
        )
    ]


# -- WHOOP -----------------------------------------------------------------------------------------

WHOOP_WORKOUT_EVENTS: dict[str, Literal["update", "delete"]] = {
    "workout.updated": "update",
    "workout.deleted": "delete",
}


class _WhoopEvent(BaseModel):
    user_id: Identifier
    id: Identifier
    type: Name


def whoop_notifications(body: bytes, *, signed_at: datetime) -> list[Notification]:
    """A WHOOP event (ids only): `workout.updated` (also sent for a new workout) and `workout.deleted`
    are stored; `sleep.*` and `recovery.*` are not Relay's."""
    payload = _json_object(body)
    event = _read(_WhoopEvent, payload, "body")
    aspect = WHOOP_WORKOUT_EVENTS.get(event.type)
    if aspect is None:
        return []
    return [
        Notification(
            provider="whoop",
            owner_id=event.user_id,
            object_type="activity",
            object_id=event.id,
            aspect_type=aspect,
            event_time=signed_at,
            payload=payload,
        )
    ]


# -- Fitbit ----------------------------------------------------------------------------------------

FITBIT_DEAUTHORIZATIONS = frozenset({"userRevokedAccess", "deleteUser"})


class _FitbitNotification(BaseModel):
    collectionType: Name
    ownerId: Identifier
    date: str | None = None


def fitbit_notifications(body: bytes, *, received_at: datetime) -> list[Notification]:
    """Fitbit's notifications, a JSON array of `{collectionType, date, ownerId, ownerType,
    subscriptionId}`: `activities` (the day's activities changed; they are listed) is stored, and
    `userRevokedAccess` and `deleteUser` as deauthorizations; foods, sleep and body are not Relay's."""
    items = read_json(body)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _invalid("body", "must be a JSON array of notifications", "not_a_list")
    notifications = []
    for index, item in enumerate(items):
        where = f"body.{index}"
        change = _read(_FitbitNotification, item, where)
        if change.collectionType in FITBIT_DEAUTHORIZATIONS:
            notifications.append(_deauthorization("fitbit", change.ownerId, received_at, item))
        elif change.collectionType == "activities":
            try:
                day = date.fromisoformat(change.date or "")
            except ValueError as exc:
                raise _invalid(f"{where}.date", "must be a date (YYYY-MM-DD)", "invalid_date") from exc
            notifications.append(
                Notification(
                    provider="fitbit",
                    owner_id=change.ownerId,
                    object_type="activities",
                    object_id=day.isoformat(),
                    aspect_type="update",
                    event_time=received_at,
                    payload=item,
                )
            )
    return notifications


# -- Wahoo -----------------------------------------------------------------------------------------


class _WahooUser(BaseModel):
    id: Identifier


class _WahooEvent(BaseModel):
    event_type: Name
    user: _WahooUser


class _WahooSummary(BaseModel):
    id: Identifier


def wahoo_notifications(body: bytes, *, webhook_token: str, received_at: datetime) -> list[Notification]:
    """A Wahoo event, proven by the `webhook_token` it carries (checked before its shape, so that a
    stranger learns nothing of it). `workout_summary` carries the data: the stored payload is the
    summary with its workout (never the token); other events are not Relay's."""
    payload = _json_object(body)
    presented = payload.get("webhook_token")
    if not isinstance(presented, str) or not _same(presented, webhook_token):
        raise UnknownSender("Unknown webhook token", details={"field": "webhook_token"})
    event = _read(_WahooEvent, payload, "body")
    if event.event_type != "workout_summary":
        return []
    summary = payload.get("workout_summary")
    if not isinstance(summary, dict):
        raise _invalid("body.workout_summary", "a workout_summary event needs its summary")
    _read(_WahooSummary, summary, "body.workout_summary")
    workout = summary.get("workout") or payload.get("workout")
    if not isinstance(workout, dict):
        raise _invalid("body.workout_summary.workout", "the summary needs its workout")
    workout_id = _read(_WahooSummary, workout, "body.workout_summary.workout").id
    return [
        Notification(
            provider="wahoo",
            owner_id=event.user.id,
            object_type="activity",
            object_id=workout_id,
            aspect_type="update",
            event_time=received_at,
            payload={**summary, "workout": workout},
        )
    ]
