import pytest

from connections.deauthorizations import needs_confirmation
from connections.service import is_deauthorization
from relay_contracts.events.ingestion import WebhookReceived


def notification(
    object_type: str, updates: dict[str, str], *, provider: str = "strava", aspect_type: str = "update"
) -> WebhookReceived:
    return WebhookReceived(
        provider=provider,  # type: ignore[arg-type]
        webhook_id="w",
        object_type=object_type,
        object_id="134815",
        aspect_type=aspect_type,
        owner_id="134815",
        event_time="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
        updates=updates,
    )


def test_an_athlete_update_with_authorized_false_is_a_deauthorization() -> None:
    assert is_deauthorization(notification("athlete", {"authorized": "false"}))


@pytest.mark.parametrize("authorized", ["False", "FALSE"])
def test_authorized_false_is_read_whatever_its_case(authorized: str) -> None:
    assert is_deauthorization(notification("athlete", {"authorized": authorized}))


@pytest.mark.parametrize(
    ("provider", "object_type"), [("garmin", "user"), ("fitbit", "userRevokedAccess"), ("strava", "athlete")]
)
def test_a_deauthorize_notification_is_a_deauthorization_whatever_the_provider(
    provider: str, object_type: str
) -> None:
    assert is_deauthorization(notification(object_type, {}, provider=provider, aspect_type="deauthorize"))


@pytest.mark.parametrize(
    ("object_type", "updates", "aspect_type"),
    [
        ("athlete", {}, "update"),
        ("athlete", {"authorized": "true"}, "update"),
        ("activity", {"authorized": "false"}, "update"),
        ("activity", {}, "create"),
        ("activity", {}, "delete"),
    ],
)
def test_other_notifications_are_not_deauthorizations(
    object_type: str, updates: dict[str, str], aspect_type: str
) -> None:
    assert not is_deauthorization(notification(object_type, updates, aspect_type=aspect_type))


def test_only_deauthorizations_from_unsigned_webhooks_are_confirmed_with_the_provider_first() -> None:
    assert needs_confirmation("strava")
    assert not any(needs_confirmation(p) for p in ("garmin", "fitbit", "polar", "oura", "whoop", "wahoo"))
    assert not needs_confirmation("unknown")
