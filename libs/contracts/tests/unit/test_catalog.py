import pytest
from pydantic import BaseModel

from relay_contracts import DEAD_LETTERS, EVENTS, TOPICS, event_spec
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.ingestion import WebhookReceived


def test_every_event_is_published_on_its_producers_topic() -> None:
    for spec in EVENTS:
        assert spec.topic in TOPICS
        assert spec.topic.producers == (spec.type.split(".")[0],)


def test_event_types_and_versions_are_unique() -> None:
    keys = [(spec.type, spec.version) for spec in EVENTS]
    assert len(keys) == len(set(keys))


def test_topic_names_are_unique_and_the_dead_letter_topic_keeps_messages_longer() -> None:
    assert len({t.name for t in TOPICS}) == len(TOPICS)
    assert all(DEAD_LETTERS.retention_ms > t.retention_ms for t in TOPICS if t is not DEAD_LETTERS)


def test_min_insync_replicas_never_exceeds_the_replicas_a_cluster_has() -> None:
    for topic in TOPICS:
        assert topic.configs(replication_factor=1)["min.insync.replicas"] == "1"
        assert topic.configs(replication_factor=3)["min.insync.replicas"] == str(topic.min_insync_replicas)


def test_an_envelope_is_built_from_the_data_its_event_declares() -> None:
    data = WebhookReceived(
        provider="strava",
        webhook_id="w1",
        object_type="activity",
        object_id="9",
        aspect_type="create",
        owner_id="7",
        event_time="2026-01-01T00:00:00Z",
    )
    envelope = INGESTION_WEBHOOK_RECEIVED.envelope(data, subject="strava:7")
    assert (envelope.type, envelope.version, envelope.producer) == (
        "ingestion.webhook.received",
        1,
        "ingestion",
    )
    assert INGESTION_WEBHOOK_RECEIVED.parse(envelope) == data
    assert event_spec("ingestion.webhook.received", 1) is INGESTION_WEBHOOK_RECEIVED


def test_an_envelope_refuses_data_of_another_event() -> None:
    class Other(BaseModel):
        x: int = 1

    with pytest.raises(TypeError, match="carries WebhookReceived"):
        INGESTION_WEBHOOK_RECEIVED.envelope(Other(), subject="s")  # type: ignore[arg-type]


def test_an_unknown_event_version_is_not_in_the_catalogue() -> None:
    with pytest.raises(KeyError):
        event_spec("ingestion.webhook.received", 99)
