"""What the audit service keeps of a record of the dead-letter topic, and how it shows its message."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from audit.dead_letters import dead_letter_row, event_of, readable_message
from relay_contracts import Envelope
from relay_platform.consumers import Delivery

RECEIVED_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ENVELOPE = Envelope(
    type="planning.session.completed", producer="planning", subject="usr_1", data={"session_id": "s1"}
)
ORIGINAL_HEADERS = {
    "event_type": "planning.session.completed",
    "event_version": "1",
    "producer": "planning",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
}
DLQ_HEADERS = {
    "dlq_consumer": "export.plans",
    "dlq_reason": "KeyError: 'session_id'",
    "dlq_attempts": "5",
    "dlq_failed_at": "2026-12-03T08:59:58.123456+00:00",
    "dlq_original_topic": "relay.planning.events",
    "dlq_original_partition": "4",
    "dlq_original_offset": "1207",
}


def delivery(body: bytes, headers: dict[str, str], *, offset: int = 31) -> Delivery:
    return Delivery(body, headers, "relay.deadletter", 2, offset, b"usr_1")


def test_a_dead_letter_keeps_the_message_unchanged_and_the_failure_from_the_dlq_headers() -> None:
    body = ENVELOPE.to_bytes()

    row = dead_letter_row(delivery(body, {**ORIGINAL_HEADERS, **DLQ_HEADERS}), received_at=RECEIVED_AT)

    assert isinstance(row.pop("id"), uuid.UUID)
    assert row == {
        "dlq_partition": 2,
        "dlq_offset": 31,
        "consumer": "export.plans",
        "reason": "KeyError: 'session_id'",
        "attempts": 5,
        "failed_at": datetime(2026, 12, 3, 8, 59, 58, 123456, tzinfo=UTC),
        "original_topic": "relay.planning.events",
        "original_partition": 4,
        "original_offset": 1207,
        "key": b"usr_1",
        "body": body,
        "headers": ORIGINAL_HEADERS,
        "event_type": "planning.session.completed",
        "event_id": str(ENVELOPE.id),
    }


def test_missing_or_unreadable_dlq_headers_leave_the_failure_partly_unknown_but_the_message_kept() -> None:
    headers = {
        **ORIGINAL_HEADERS,
        "dlq_consumer": "",
        "dlq_attempts": "many",
        "dlq_failed_at": "yesterday",
        "dlq_original_topic": "relay.planning.events",
        "dlq_original_partition": "",
        "dlq_original_offset": "",
    }

    row = dead_letter_row(delivery(b"\x00\x01", headers), received_at=RECEIVED_AT)

    assert (row["consumer"], row["reason"], row["attempts"]) == ("unknown", "", 0)
    assert row["failed_at"] == RECEIVED_AT
    assert (row["original_partition"], row["original_offset"]) == (None, None)
    assert row["body"] == b"\x00\x01"


def test_a_failure_time_without_a_timezone_is_read_as_utc_and_one_with_an_offset_kept() -> None:
    naive = dead_letter_row(
        delivery(b"{}", {**DLQ_HEADERS, "dlq_failed_at": "2026-12-03T08:00:00"}), received_at=RECEIVED_AT
    )
    paris = dead_letter_row(
        delivery(b"{}", {**DLQ_HEADERS, "dlq_failed_at": "2026-12-03T09:00:00+01:00"}),
        received_at=RECEIVED_AT,
    )

    assert naive["failed_at"] == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert paris["failed_at"] == datetime(2026, 12, 3, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert paris["failed_at"] == naive["failed_at"]


def test_nul_characters_are_dropped_from_headers_which_postgresql_could_not_store() -> None:
    row = dead_letter_row(
        delivery(b"{}", {**DLQ_HEADERS, "dlq_reason": "bad\x00byte", "note": "a\x00b"}),
        received_at=RECEIVED_AT,
    )

    assert row["reason"] == "badbyte"
    assert row["headers"] == {"note": "ab"}


def test_the_event_of_a_valid_envelope_is_read_from_its_body() -> None:
    announced = {"event_type": "identity.user.registered"}

    assert event_of(ENVELOPE.to_bytes(), announced) == ("planning.session.completed", str(ENVELOPE.id))


def test_a_body_that_is_not_an_envelope_has_only_the_type_its_header_announced_and_no_id() -> None:
    announced = {"event_type": "planning.session.completed"}

    assert event_of(b"{not json", announced) == ("planning.session.completed", None)
    assert event_of(b'{"type": "planning.session.completed"}', announced) == (
        "planning.session.completed",
        None,
    )
    assert event_of(b"\xff\xfe", {}) == (None, None)


def test_a_message_is_shown_as_its_json_or_else_as_its_text() -> None:
    assert readable_message(ENVELOPE.to_bytes())["id"] == str(ENVELOPE.id)
    assert readable_message(b"[1, 2]") == [1, 2]
    assert readable_message(b"{not json") == "{not json"
    assert readable_message(b"caf\xe9") == "caf\ufffd"
