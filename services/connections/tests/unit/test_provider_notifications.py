import pytest

from connections.service import is_deauthorization
from relay_contracts.events.ingestion import WebhookReceived


def notification(object_type: str, updates: dict[str, str]) -> WebhookReceived:
    return WebhookReceived(
        provider="strava",
        webhook_id="w",
        object_type=object_type,
        object_id="134815",
        aspect_type="update",
        owner_id="134815",
        event_time="2026-01-01T00:00:00Z",
        updates=updates,
    )


def test_an_athlete_update_with_authorized_false_is_a_deauthorization() -> None:
    assert is_deauthorization(notification("athlete", {"authorized": "false"}))


@pytest.mark.parametrize(
    ("object_type", "updates"),
    [("athlete", {}), ("athlete", {"authorized": "true"}), ("activity", {"authorized": "false"})],
)
def test_other_notifications_are_not_deauthorizations(object_type: str, updates: dict[str, str]) -> None:
    assert not is_deauthorization(notification(object_type, updates))
