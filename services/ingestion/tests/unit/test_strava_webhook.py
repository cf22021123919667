import pytest

from ingestion.schemas import StravaWebhookEvent
from ingestion.service import confirm_strava_subscription, fingerprint
from relay_platform.errors import Forbidden, InvalidInput


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
