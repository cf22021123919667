"""When the weekly review is due: Monday 06:00 in the athlete's timezone, whatever the moment and the
daylight saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from planning.reviews import next_review, zone_named

ZONES = ["Europe/Paris", "America/Los_Angeles", "Australia/Sydney", "Asia/Kolkata", "Pacific/Auckland", "UTC"]


@given(
    after=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
)
def test_the_review_is_the_next_monday_at_six_local_time(after: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    due = next_review(after, zone)
    local = due.astimezone(zone)
    assert (local.weekday(), local.time()) == (0, time(6))
    assert after < due <= after + timedelta(days=7, hours=1)


def test_a_monday_before_six_is_reviewed_the_same_morning_and_after_six_a_week_later() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert next_review(datetime(2026, 11, 23, 5, 59, tzinfo=paris), paris) == datetime(
        2026, 11, 23, 6, tzinfo=paris
    )
    assert next_review(datetime(2026, 11, 23, 6, 0, tzinfo=paris), paris) == datetime(
        2026, 11, 30, 6, tzinfo=paris
    )


def test_the_monday_after_the_clocks_change_keeps_six_local_time() -> None:
    paris = ZoneInfo("Europe/Paris")
    # Clocks go forward on Sunday 29 March 2026: the review stays at 06:00 (04:00 UTC, not 05:00).
    due = next_review(datetime(2026, 3, 27, 12, tzinfo=UTC), paris)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 4, tzinfo=UTC)


def test_an_unknown_timezone_falls_back_to_utc() -> None:
    assert zone_named("Mars/Olympus_Mons") is UTC
    assert zone_named(None) is UTC
    assert zone_named("Europe/Paris") == ZoneInfo("Europe/Paris")
