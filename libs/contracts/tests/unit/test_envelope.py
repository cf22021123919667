from datetime import datetime

import pytest
from pydantic import ValidationError

from relay_contracts import Envelope

VALID = {"type": "ingestion.webhook.received", "producer": "ingestion", "subject": "strava:1"}


def test_an_envelope_survives_the_wire_unchanged() -> None:
    envelope = Envelope(**VALID, data={"a": 1}, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


@pytest.mark.parametrize(
    "event_type",
    ["webhook_received", "Ingestion.webhook.received", "ingestion.webhook", "a.b.c.d", "a.b-c.d"],
)
def test_an_event_type_must_read_service_entity_verb(event_type: str) -> None:
    with pytest.raises(ValidationError, match="type must read"):
        Envelope(**{**VALID, "type": event_type})


def test_occurred_at_must_carry_a_timezone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Envelope(**VALID, occurred_at=datetime(2026, 1, 1, 12, 0))


def test_a_malformed_traceparent_is_refused() -> None:
    with pytest.raises(ValidationError, match="W3C"):
        Envelope(**VALID, traceparent="not-a-trace")


def test_the_subject_is_required_because_it_is_the_kafka_key() -> None:
    with pytest.raises(ValidationError):
        Envelope(**{**VALID, "subject": ""})


def test_every_envelope_gets_its_own_id() -> None:
    assert Envelope(**VALID).id != Envelope(**VALID).id
