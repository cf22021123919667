"""Each provider's proof of origin, computed here from the provider's documented recipe, and the reading
of its notifications into what the worker acts on."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestion import webhooks
from ingestion.webhooks import (
    FitbitSignatureMismatch,
    InvalidSignature,
    StaleSignature,
    UnknownSender,
)
from relay_platform.errors import InvalidInput, NotFound, Unauthorized
from relay_testing.fakes.providers.api.coros import coros_workout as pushed_coros_workout

NOW = datetime(2026, 12, 1, 7, 45, tzinfo=UTC)
BODY = b'{"user_id":10129,"id":"ecfc6a15-4661-442f-a9a4-f160dd7afae8","type":"workout.updated"}'
SECRET = "client-secret-of-the-tests"


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# -- Polar: hex HMAC-SHA256 of the body with the webhook's signature key -----------------------------


def polar_signature(raw: bytes, key: str = SECRET) -> str:
    return hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()


def test_a_polar_event_signed_with_our_key_is_genuine() -> None:
    webhooks.verify_polar_signature(BODY, polar_signature(BODY), SECRET)


@pytest.mark.parametrize(
    "signature",
    [None, "", polar_signature(BODY, "another-key"), polar_signature(BODY + b" ")],
    ids=["missing", "empty", "another-key", "another-body"],
)
def test_a_polar_event_without_our_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(InvalidSignature) as refused:
        webhooks.verify_polar_signature(BODY, signature, SECRET)
    assert refused.value.status_code == 401


def test_polars_ping_is_recognized_from_its_body() -> None:
    assert webhooks.is_polar_ping(body({"timestamp": "2026-12-01T07:45:00Z", "event": "PING"}))
    assert not webhooks.is_polar_ping(body({"event": "EXERCISE", "user_id": 475, "entity_id": "aQlC83"}))
    assert not webhooks.is_polar_ping(b"PING")


# -- Oura: HMAC-SHA256 of x-oura-timestamp + body with the client secret, upper-case hex -------------


def oura_headers(raw: bytes, at: datetime = NOW, secret: str = SECRET) -> tuple[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).hexdigest().upper()
    return signature, timestamp


def test_an_oura_event_signed_with_our_client_secret_is_genuine_whatever_the_hex_case() -> None:
    signature, timestamp = oura_headers(BODY)
    assert webhooks.verify_oura_signature(BODY, signature, timestamp, SECRET, now=NOW) == NOW
    webhooks.verify_oura_signature(BODY, signature.lower(), timestamp, SECRET, now=NOW)


def test_an_oura_event_signed_for_another_timestamp_is_refused() -> None:
    signature, _ = oura_headers(BODY, NOW - timedelta(minutes=1))
    with pytest.raises(InvalidSignature):
        webhooks.verify_oura_signature(BODY, signature, str(int(NOW.timestamp())), SECRET, now=NOW)


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        (None, str(int(NOW.timestamp()))),
        (oura_headers(BODY)[0], None),
        (oura_headers(BODY, secret="another-secret")[0], oura_headers(BODY)[1]),
        (oura_headers(BODY)[0], "2026-12-01T07:45:00Z"),
    ],
    ids=["missing-signature", "missing-timestamp", "another-secret", "timestamp-not-a-number"],
)
def test_an_oura_event_without_our_signature_is_refused(signature: str | None, timestamp: str | None) -> None:
    with pytest.raises(InvalidSignature):
        webhooks.verify_oura_signature(BODY, signature, timestamp, SECRET, now=NOW)


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)], ids=["old", "future"])
def test_a_genuine_oura_signature_outside_five_minutes_is_a_replay(age: timedelta) -> None:
    signature, timestamp = oura_headers(BODY, NOW - age)
    with pytest.raises(StaleSignature) as refused:
        webhooks.verify_oura_signature(BODY, signature, timestamp, SECRET, now=NOW)
    assert (refused.value.status_code, refused.value.code) == (401, "stale_signature")


# -- WHOOP: base64(HMAC-SHA256(client secret, X-WHOOP-Signature-Timestamp + body)), milliseconds -----


def whoop_headers(raw: bytes, at: datetime = NOW, secret: str = SECRET) -> tuple[str, str]:
    timestamp = str(int(at.timestamp() * 1000))
    digest = hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).digest()
    return base64.b64encode(digest).decode(), timestamp


def test_a_whoop_event_signed_with_our_client_secret_is_genuine() -> None:
    signature, timestamp = whoop_headers(BODY)
    assert webhooks.verify_whoop_signature(BODY, signature, timestamp, SECRET, now=NOW) == NOW


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        (None, whoop_headers(BODY)[1]),
        (whoop_headers(BODY)[0], None),
        (whoop_headers(BODY, secret="another-secret")[0], whoop_headers(BODY)[1]),
        (whoop_headers(BODY + b"\n")[0], whoop_headers(BODY)[1]),
    ],
    ids=["missing-signature", "missing-timestamp", "another-secret", "another-body"],
)
def test_a_whoop_event_without_our_signature_is_refused(signature: str | None, timestamp: str | None) -> None:
    with pytest.raises(InvalidSignature) as refused:
        webhooks.verify_whoop_signature(BODY, signature, timestamp, SECRET, now=NOW)
    assert (refused.value.status_code, refused.value.code) == (401, "invalid_signature")


def test_a_genuine_whoop_signature_older_than_five_minutes_is_a_replay() -> None:
    signature, timestamp = whoop_headers(BODY, NOW - timedelta(minutes=5, seconds=1))
    with pytest.raises(StaleSignature):
        webhooks.verify_whoop_signature(BODY, signature, timestamp, SECRET, now=NOW)
    fresh_signature, fresh_timestamp = whoop_headers(BODY, NOW - timedelta(minutes=4, seconds=59))
    webhooks.verify_whoop_signature(BODY, fresh_signature, fresh_timestamp, SECRET, now=NOW)


def test_a_whoop_timestamp_is_read_in_milliseconds() -> None:
    seconds = str(int(NOW.timestamp()))
    digest = hmac.new(SECRET.encode(), seconds.encode() + BODY, hashlib.sha256).digest()
    with pytest.raises(StaleSignature):
        webhooks.verify_whoop_signature(BODY, base64.b64encode(digest).decode(), seconds, SECRET, now=NOW)


# -- Fitbit: base64(HMAC-SHA1(client secret + "&", body)); a mismatch is a 404 ----------------------


def fitbit_signature(raw: bytes, key: str = SECRET + "&") -> str:
    return base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha1).digest()).decode()


def test_a_fitbit_notification_signed_with_our_client_secret_is_genuine() -> None:
    webhooks.verify_fitbit_signature(BODY, fitbit_signature(BODY), SECRET)


@pytest.mark.parametrize(
    "signature",
    [None, fitbit_signature(BODY, SECRET), fitbit_signature(BODY, "another-secret&")],
    ids=["missing", "without-the-ampersand", "another-secret"],
)
def test_a_fitbit_notification_without_our_signature_is_answered_404(signature: str | None) -> None:
    with pytest.raises(FitbitSignatureMismatch) as refused:
        webhooks.verify_fitbit_signature(BODY, signature, SECRET)
    assert refused.value.status_code == 404


def test_fitbits_subscriber_verification_confirms_only_our_code() -> None:
    webhooks.confirm_fitbit_subscriber("8f3b1c2d9e", "8f3b1c2d9e")
    with pytest.raises(NotFound):
        webhooks.confirm_fitbit_subscriber("deliberately-wrong", "8f3b1c2d9e")


# -- COROS, Garmin, Oura's subscription check ---------------------------------------------------------


def test_a_coros_push_carries_our_application_id_and_secret() -> None:
    webhooks.verify_coros_credentials("relay-app", SECRET, client_id="relay-app", client_secret=SECRET)


@pytest.mark.parametrize(
    ("client", "secret"),
    [(None, SECRET), ("relay-app", None), ("another-app", SECRET), ("relay-app", "guess")],
    ids=["no-client", "no-secret", "another-client", "another-secret"],
)
def test_a_coros_push_without_our_credentials_is_refused(client: str | None, secret: str | None) -> None:
    with pytest.raises(UnknownSender) as refused:
        webhooks.verify_coros_credentials(client, secret, client_id="relay-app", client_secret=SECRET)
    assert refused.value.status_code == 401


def test_a_garmin_notification_must_name_our_application() -> None:
    webhooks.verify_garmin_client("9a5c1f2e-garmin-app", client_id="9a5c1f2e-garmin-app")
    for presented in (None, "", "another-app"):
        with pytest.raises(UnknownSender):
            webhooks.verify_garmin_client(presented, client_id="9a5c1f2e-garmin-app")


def test_ouras_subscription_check_echoes_the_challenge_to_whoever_knows_the_token() -> None:
    assert webhooks.confirm_oura_subscription("v-token", "a1b2c3", "v-token") == "a1b2c3"
    with pytest.raises(Unauthorized):
        webhooks.confirm_oura_subscription("guess", "a1b2c3", "v-token")


# -- Reading the bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b'{"event": "EXERCISE"', b'{"distance": NaN}', b'{"name": "a\\u0000b"}', b"\xff\xfe"],
    ids=["empty", "truncated", "nan", "nul", "not-utf8"],
)
def test_a_body_that_cannot_be_stored_as_json_is_invalid(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.read_json(raw)
    assert refused.value.status_code == 400


GARMIN_USER = "4aacafe82427c251df9c9592d0c06768"


def garmin_run(**overrides: Any) -> dict[str, Any]:
    return {
        "userId": GARMIN_USER,
        "userAccessToken": "8f57a6f1-26ba-4b51-a4ec-1a4d3c4b0f1e",
        "summaryId": "21457888812",
        "activityId": 21457888812,
        "activityName": "Lyon Running",
        "activityType": "RUNNING",
        "startTimeInSeconds": 1764570000,
        "startTimeOffsetInSeconds": 3600,
        "durationInSeconds": 3012,
        "distanceInMeters": 10012.3,
        "averageHeartRateInBeatsPerMinute": 148,
        "deviceName": "Forerunner 965",
    } | overrides


def test_garmin_activity_summaries_are_read_one_notification_each_without_the_athletes_token() -> None:
    push = {
        "activities": [garmin_run(), garmin_run(summaryId="21457888999", activityId=21457888999)],
        "manuallyUpdatedActivities": [garmin_run(activityName="Lyon Tempo Run")],
    }

    notifications = webhooks.garmin_notifications(body(push), received_at=NOW)

    assert [(n.owner_id, n.object_type, n.object_id, n.aspect_type) for n in notifications] == [
        (GARMIN_USER, "activity", "21457888812", "create"),
        (GARMIN_USER, "activity", "21457888999", "create"),
        (GARMIN_USER, "activity", "21457888812", "update"),
    ]
    assert all("userAccessToken" not in n.payload for n in notifications)
    assert notifications[0].payload["distanceInMeters"] == 10012.3
    assert notifications[0].event_time == NOW


def test_a_garmin_ping_names_the_upload_window_to_read() -> None:
    callback = (
        "https://apis.garmin.com/wellness-api/rest/activities?uploadStartTimeInSeconds=1764568800"
        "&uploadEndTimeInSeconds=1764572400&token=0b6d2e1f"
    )
    ping = {"activities": [{"userId": GARMIN_USER, "callbackURL": callback}]}

    [notification] = webhooks.garmin_notifications(body(ping), received_at=NOW)

    assert (notification.object_type, notification.object_id) == ("activities", "1764568800-1764572400")
    assert notification.payload == {"userId": GARMIN_USER, "callbackURL": callback}


def test_a_garmin_deregistration_is_a_deauthorization_and_a_permission_change_is_told() -> None:
    notice = {
        "deregistrations": [{"userId": GARMIN_USER, "userAccessToken": "8f57a6f1"}],
        "userPermissionsChange": [
            {
                "userId": GARMIN_USER,
                "summaryId": "x120d383-60256e84",
                "permissions": ["WORKOUT_IMPORT", "HEALTH_EXPORT"],
                "changeTimeInSeconds": 1764571000,
            }
        ],
    }

    gone, changed = webhooks.garmin_notifications(body(notice), received_at=NOW)

    assert (gone.object_type, gone.aspect_type, dict(gone.updates)) == (
        "athlete",
        "update",
        {"authorized": "false"},
    )
    assert gone.payload == {"userId": GARMIN_USER}
    assert dict(changed.updates) == {"permissions": ["WORKOUT_IMPORT", "HEALTH_EXPORT"]}
    assert changed.event_time == datetime.fromtimestamp(1764571000, UTC)


def test_a_garmin_permission_change_at_an_impossible_time_is_invalid() -> None:
    change = {"userId": GARMIN_USER, "permissions": [], "changeTimeInSeconds": 10**15}

    with pytest.raises(InvalidInput):
        webhooks.garmin_notifications(body({"userPermissionsChange": [change]}), received_at=NOW)


def test_garmin_summaries_relay_does_not_use_are_acknowledged_and_dropped() -> None:
    push = {
        "dailies": [{"userId": GARMIN_USER, "summaryId": "x153a9f3-5f2a", "steps": 9102}],
        "activityDetails": [{"userId": GARMIN_USER, "activityId": 21457888812, "samples": []}],
        "moveIQActivities": [{"userId": GARMIN_USER, "summaryId": "x3c0e6", "activityType": "Walking"}],
    }
    assert webhooks.garmin_notifications(body(push), received_at=NOW) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([garmin_run()], "body"),
        ({}, "body"),
        ({"activities": garmin_run()}, "activities"),
        ({"activities": [garmin_run(userId=None)]}, "activities.0.userId"),
        ({"activities": [garmin_run(activityId=None, summaryId=None)]}, "activities.0.activityId"),
        ({"deregistrations": [{"userAccessToken": "8f57a6f1"}]}, "deregistrations.0.userId"),
    ],
    ids=["array", "empty", "not-a-list", "no-user", "no-id", "deregistration-without-user"],
)
def test_a_garmin_body_of_another_shape_is_invalid(payload: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.garmin_notifications(body(payload), received_at=NOW)
    assert refused.value.details["field"] == field


def coros_workout(**overrides: Any) -> dict[str, Any]:
    fields = {"labelId": "436281790715297792", "startTime": 1764570000, **overrides}
    return pushed_coros_workout("d1f0c9b4a7e2", **fields)


def test_a_coros_push_is_read_one_notification_per_workout_with_its_data() -> None:
    push = {"sportDataList": [coros_workout(), coros_workout(labelId=436281790715297999, mode=9)]}

    notifications = webhooks.coros_notifications(body(push), received_at=NOW)

    assert [(n.owner_id, n.object_id, n.object_type) for n in notifications] == [
        ("d1f0c9b4a7e2", "436281790715297792", "activity"),
        ("d1f0c9b4a7e2", "436281790715297999", "activity"),
    ]
    assert notifications[0].payload == coros_workout()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"data": []}, "sportDataList"),
        ({"sportDataList": [coros_workout(labelId=None)]}, "sportDataList.0.labelId"),
        ({"sportDataList": [coros_workout(openId="")]}, "sportDataList.0.openId"),
    ],
    ids=["no-list", "no-label-id", "empty-open-id"],
)
def test_a_coros_body_of_another_shape_is_invalid(payload: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.coros_notifications(body(payload), received_at=NOW)
    assert refused.value.details["field"] == field


POLAR_EXERCISE = {
    "event": "EXERCISE",
    "user_id": 475,
    "entity_id": "aQlC83",
    "timestamp": "2026-12-01T07:44:12Z",
    "url": "https://www.polaraccesslink.com/v3/exercises/aQlC83",
}


def test_a_polar_exercise_event_is_read_and_other_events_are_not_relays() -> None:
    [exercise] = webhooks.polar_notifications(body(POLAR_EXERCISE), received_at=NOW)
    assert (exercise.owner_id, exercise.object_type, exercise.object_id) == ("475", "activity", "aQlC83")
    assert exercise.event_time == datetime(2026, 12, 1, 7, 44, 12, tzinfo=UTC)

    sleep = {"event": "SLEEP", "user_id": 475, "date": "2026-12-01", "timestamp": "2026-12-01T07:44:12Z"}
    assert webhooks.polar_notifications(body(sleep), received_at=NOW) == []


def test_a_polar_exercise_without_its_entity_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.polar_notifications(body({**POLAR_EXERCISE, "entity_id": None}), received_at=NOW)
    assert refused.value.details["field"] == "body.entity_id"


def oura_event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_type": "create",
        "data_type": "workout",
        "object_id": "8f9a5221-639e-4a85-81cb-4065ef23f979",
        "event_time": "2026-12-01T07:44:30+00:00",
        "user_id": "c2a8e3f0-8b1d-4c5e-9f7a-2d6b1e0a9c43",
    } | overrides


@pytest.mark.parametrize("event_type", ["create", "update", "delete"])
def test_an_oura_workout_event_keeps_what_happened_to_the_workout(event_type: str) -> None:
    [notification] = webhooks.oura_notifications(body(oura_event(event_type=event_type)), received_at=NOW)
    assert (notification.object_id, notification.aspect_type) == (
        "8f9a5221-639e-4a85-81cb-4065ef23f979",
        event_type,
    )
    assert notification.event_time == datetime(2026, 12, 1, 7, 44, 30, tzinfo=UTC)


def test_oura_events_about_sleep_or_readiness_are_not_relays() -> None:
    for data_type in ("sleep", "daily_readiness", "session"):
        assert webhooks.oura_notifications(body(oura_event(data_type=data_type)), received_at=NOW) == []


def test_an_oura_event_of_an_unknown_kind_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.oura_notifications(body(oura_event(event_type="created")), received_at=NOW)
    assert refused.value.details["field"] == "body.event_type"


@pytest.mark.parametrize(("event", "aspect"), [("workout.updated", "update"), ("workout.deleted", "delete")])
def test_whoop_workout_events_are_read(event: str, aspect: str) -> None:
    payload = {
        "user_id": 10129,
        "id": "ecfc6a15-4661-442f-a9a4-f160dd7afae8",
        "type": event,
        "trace_id": "e369",
    }
    [notification] = webhooks.whoop_notifications(body(payload), signed_at=NOW)
    assert (notification.owner_id, notification.object_id, notification.aspect_type) == (
        "10129",
        "ecfc6a15-4661-442f-a9a4-f160dd7afae8",
        aspect,
    )
    assert notification.event_time == NOW


def test_whoop_sleep_and_recovery_events_are_not_relays() -> None:
    for event in ("sleep.updated", "recovery.updated", "recovery.deleted"):
        payload = {"user_id": 10129, "id": "ecfc6a15-4661-442f-a9a4-f160dd7afae8", "type": event}
        assert webhooks.whoop_notifications(body(payload), signed_at=NOW) == []


def fitbit_notice(**overrides: Any) -> dict[str, Any]:
    return {
        "collectionType": "activities",
        "date": "2026-12-01",
        "ownerId": "228S74",
        "ownerType": "user",
        "subscriptionId": "relay-228S74",
    } | overrides


def test_fitbit_notifications_name_the_day_to_list_and_revocations_are_deauthorizations() -> None:
    notices = [
        fitbit_notice(),
        fitbit_notice(collectionType="foods"),
        fitbit_notice(collectionType="sleep"),
        fitbit_notice(collectionType="userRevokedAccess"),
    ]

    day, revoked = webhooks.fitbit_notifications(body(notices), received_at=NOW)

    assert (day.owner_id, day.object_type, day.object_id, day.aspect_type) == (
        "228S74",
        "activities",
        "2026-12-01",
        "update",
    )
    assert (revoked.object_type, dict(revoked.updates)) == ("athlete", {"authorized": "false"})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (fitbit_notice(), "body"),
        ([fitbit_notice(date="yesterday")], "body.0.date"),
        ([fitbit_notice(ownerId=None)], "body.0.ownerId"),
    ],
    ids=["object", "not-a-date", "no-owner"],
)
def test_a_fitbit_body_of_another_shape_is_invalid(payload: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.fitbit_notifications(body(payload), received_at=NOW)
    assert refused.value.details["field"] == field


WAHOO_TOKEN = "97661c16-6359-4854-9498-a49c07b8fb37"


def wahoo_event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_type": "workout_summary",
        "webhook_token": WAHOO_TOKEN,
        "user": {"id": 60462},
        "workout_summary": {
            "id": 8297,
            "ascent_accum": 450.0,
            "calories_accum": 1500.0,
            "distance_accum": 24909.71,
            "duration_active_accum": 3590,
            "duration_total_accum": 3725,
            "heart_rate_avg": 124,
            "power_avg": 194.59,
            "created_at": "2026-12-01T07:43:50.000Z",
            "updated_at": "2026-12-01T07:43:50.000Z",
            "workout": {
                "id": 56519,
                "starts": "2026-12-01T06:41:45.000Z",
                "minutes": 62,
                "name": "Morning ride",
                "workout_type_id": 0,
            },
        },
    } | overrides


def test_a_wahoo_summary_is_stored_with_its_workout_and_never_the_token() -> None:
    [notification] = webhooks.wahoo_notifications(
        body(wahoo_event()), webhook_token=WAHOO_TOKEN, received_at=NOW
    )
    assert (notification.owner_id, notification.object_id) == ("60462", "56519")
    assert notification.payload == wahoo_event()["workout_summary"]
    assert WAHOO_TOKEN not in json.dumps(notification.payload)


@pytest.mark.parametrize("token", [None, "", "97661c16-guess"], ids=["missing", "empty", "another"])
def test_a_wahoo_event_without_our_token_is_refused_before_its_shape_is_looked_at(token: str | None) -> None:
    with pytest.raises(UnknownSender):
        webhooks.wahoo_notifications(
            body({"webhook_token": token, "user": "not an object"}),
            webhook_token=WAHOO_TOKEN,
            received_at=NOW,
        )


def test_a_wahoo_event_with_our_token_but_without_its_athlete_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.wahoo_notifications(body(wahoo_event(user=None)), webhook_token=WAHOO_TOKEN, received_at=NOW)
    assert refused.value.details["field"] == "body.user"
