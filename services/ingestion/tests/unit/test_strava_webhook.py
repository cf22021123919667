import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ingestion.schemas import StravaWebhookEvent
from ingestion.service import confirm_strava_subscription, fingerprint
from ingestion.webhooks import strava_notifications
from relay_platform.errors import Forbidden, InvalidInput, Unauthorized

EVENT: dict[str, Any] = {
    "aspect_type": "update",
    "event_time": 1516126040,
    "object_id": 1360128428,
    "object_type": "activity",
    "owner_id": 134815,
    "subscription_id": 120475,
    "updates": {"title": "Messy", "private": "true"},
}


def test_the_subscription_check_echoes_the_challenge_to_whoever_knows_the_verify_token() -> None:
    assert (
        confirm_strava_subscription("subscribe", "v-token", "15f7d1a91c1f40f8", "v-token")
        == "15f7d1a91c1f40f8"
    )


def test_the_subscription_check_refuses_a_wrong_verify_token() -> None:
    with pytest.raises(Forbidden):
        confirm_strava_subscription("subscribe", "guess", "c", "v-token")


def test_the_subscription_check_refuses_another_mode() -> None:
    with pytest.raises(InvalidInput):
        confirm_strava_subscription("unsubscribe", "v-token", "c", "v-token")


def test_a_redelivered_notification_has_the_same_fingerprint_whatever_its_key_order() -> None:
    a = {"object_id": 1, "aspect_type": "create", "updates": {"title": "Run", "type": "Run"}}
    b = {"updates": {"type": "Run", "title": "Run"}, "aspect_type": "create", "object_id": 1}
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint({**a, "aspect_type": "update"})


def test_a_strava_event_carries_ids_and_the_changed_fields_only() -> None:
    event = StravaWebhookEvent.model_validate(
        {
            "aspect_type": "update",
            "event_time": 1516126040,
            "object_id": 1360128428,
            "object_type": "activity",
            "owner_id": 134815,
            "subscription_id": 120475,
            "updates": {"title": "Messy", "private": "true"},
        }
    )
    assert event.updates == {"title": "Messy", "private": "true"}


def test_a_strava_event_is_read_into_the_notification_the_worker_acts_on() -> None:
    [notification] = strava_notifications(json.dumps(EVENT).encode(), expected_subscription_id=120475)

    assert (notification.provider, notification.owner_id, notification.object_type) == (
        "strava",
        "134815",
        "activity",
    )
    assert (notification.object_id, notification.aspect_type) == ("1360128428", "update")
    assert notification.event_time == datetime(2018, 1, 16, 18, 7, 20, tzinfo=UTC)
    assert dict(notification.updates) == {"title": "Messy", "private": "true"}
    assert notification.payload == EVENT


def test_a_deauthorization_is_an_athlete_update_saying_authorized_false() -> None:
    deauthorized = {
        **EVENT,
        "object_type": "athlete",
        "object_id": 134815,
        "updates": {"authorized": "false"},
    }
    [notification] = strava_notifications(json.dumps(deauthorized).encode(), expected_subscription_id=None)
    assert (notification.object_type, dict(notification.updates)) == ("athlete", {"authorized": "false"})


def test_an_event_of_another_subscription_is_refused() -> None:
    with pytest.raises(Unauthorized):
        strava_notifications(json.dumps(EVENT).encode(), expected_subscription_id=7)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        json.dumps({**EVENT, "object_type": "route"}).encode(),
        json.dumps({**EVENT, "owner_id": None}).encode(),
        json.dumps({**EVENT, "event_time": 4398046511104}).encode(),
    ],
    ids=["empty", "array", "unknown-object-type", "no-owner", "event-time-beyond-year-9999"],
)
def test_a_body_that_is_not_a_strava_event_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        strava_notifications(body, expected_subscription_id=None)
