"""Recognizing one workout sent by two providers, on pairs as the providers send them: what is the same
workout, what only looks like it, and which copy the athlete is shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ingestion.dedup import kept_and_duplicate, match
from ingestion.models import Activity
from ingestion.providers.base import ActivityData, Sport, SubSport


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(UTC)


def garmin(
    activity_type: str,
    sport: Sport,
    sub_sport: SubSport | None,
    start: str,
    duration: int,
    distance: float | None,
    device: str = "Forerunner 965",
) -> ActivityData:
    """An activity summary from Garmin's Activity API, as Relay reads it."""
    started = at(start)
    raw: dict[str, Any] = {
        "userId": "4aacafe82427c251df9c9592d0c06768",
        "summaryId": "17403319622",
        "activityId": 17403319622,
        "activityType": activity_type,
        "startTimeInSeconds": int(started.timestamp()),
        "startTimeOffsetInSeconds": 3600,
        "durationInSeconds": duration,
        "deviceName": device,
    }
    if distance is not None:
        raw["distanceInMeters"] = distance
    return ActivityData(
        provider="garmin",
        external_id=raw["summaryId"],
        sport=sport,
        sub_sport=sub_sport,
        sport_type=activity_type,
        start_time=started,
        utc_offset_seconds=3600,
        elapsed_time_s=duration,
        distance_m=distance,
        device_name=device,
        raw=raw,
    )


def strava(
    sport_type: str,
    sport: Sport,
    sub_sport: SubSport | None,
    start: str,
    elapsed: int,
    distance: float | None,
    device: str | None = None,
    moving: int | None = None,
) -> ActivityData:
    """A DetailedActivity from Strava's API, as Relay reads it (Strava says 0.0 for a distance it has not)."""
    started = at(start)
    raw: dict[str, Any] = {
        "id": 13876543210,
        "name": "Morning Activity",
        "type": sport_type,
        "sport_type": sport_type,
        "start_date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "(GMT+01:00) Europe/Paris",
        "elapsed_time": elapsed,
        "moving_time": moving or elapsed,
        "distance": distance if distance is not None else 0.0,
        "trainer": sub_sport in {"indoor", "virtual", "treadmill"},
        "device_name": device,
    }
    return ActivityData(
        provider="strava",
        external_id=str(raw["id"]),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=sport_type,
        start_time=started,
        timezone="Europe/Paris",
        elapsed_time_s=elapsed,
        moving_time_s=moving or elapsed,
        distance_m=distance,
        device_name=device,
        raw=raw,
    )


def wahoo(
    type_id: int, sport: Sport, sub_sport: SubSport | None, start: str, duration: int, distance: str
) -> ActivityData:
    """A workout with its summary from Wahoo's Cloud API (decimals as text, as Wahoo writes them)."""
    started = at(start)
    raw = {
        "id": 285612007,
        "starts": started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "minutes": round(duration / 60),
        "name": "Cycling",
        "workout_type_id": type_id,
        "workout_summary": {
            "distance_accum": distance,
            "duration_total_accum": str(duration),
            "duration_active_accum": str(duration - 40),
            "power_bike_avg": "212.0",
        },
    }
    return ActivityData(
        provider="wahoo",
        external_id=str(raw["id"]),
        sport=sport,
        sub_sport=sub_sport,
        sport_type=str(type_id),
        start_time=started,
        elapsed_time_s=duration,
        moving_time_s=duration - 40,
        distance_m=float(distance),
        device_name="KICKR",
        raw=raw,
    )


def health_bridge(name: str, sport: Sport, start: str, end: str, distance_km: float | None) -> ActivityData:
    """An Apple Health workout exported by Health Auto Export (times as "yyyy-MM-dd HH:mm:ss Z")."""
    local_start = datetime.strptime(start, "%Y-%m-%d %H:%M:%S %z")
    offset = local_start.utcoffset()
    started = local_start.astimezone(UTC)
    duration = int((datetime.strptime(end, "%Y-%m-%d %H:%M:%S %z") - local_start).total_seconds())
    raw: dict[str, Any] = {
        "id": "6C1C4F0B-3F7E-4E55-9F7A-1D2A1B0C9E41",
        "name": name,
        "start": start,
        "end": end,
        "duration": duration,
        "activeEnergyBurned": {"qty": 612.4, "units": "kcal"},
    }
    if distance_km is not None:
        raw["distance"] = {"qty": distance_km, "units": "km"}
    return ActivityData(
        provider="health_bridge",
        external_id=raw["id"],
        sport=sport,
        sport_type=name,
        name=name,
        start_time=started,
        utc_offset_seconds=None if offset is None else int(offset.total_seconds()),
        elapsed_time_s=duration,
        distance_m=None if distance_km is None else distance_km * 1000,
        device_name="Apple Watch",
        raw=raw,
    )


# The same workout from two providers


def test_a_forerunner_run_and_its_strava_copy_are_one_workout() -> None:
    watch = garmin("RUNNING", "run", None, "2026-03-14T07:02:11+01:00", 3125, 10012.4)
    copy = strava("Run", "run", None, "2026-03-14T06:02:11Z", 3125, 9968.0, device="Garmin Forerunner 965")

    evidence = match(watch, copy)

    assert evidence is not None
    assert evidence.as_json() == {
        "sport": "run",
        "start_difference_s": 0.0,
        "overlap_ratio": 1.0,
        "distance_rule": "within_tolerance",
        "distance_difference_ratio": 0.0044,
        "copies": [
            {
                "provider": "garmin",
                "sport_type": "RUNNING",
                "sub_sport": None,
                "start_time": "2026-03-14T06:02:11+00:00",
                "duration_s": 3125,
                "distance_m": 10012.4,
            },
            {
                "provider": "strava",
                "sport_type": "Run",
                "sub_sport": None,
                "start_time": "2026-03-14T06:02:11+00:00",
                "duration_s": 3125,
                "distance_m": 9968.0,
            },
        ],
    }
    assert match(copy, watch) is not None


def test_a_zwift_ride_on_strava_and_the_same_ride_from_the_kickr_are_one_ride() -> None:
    # The Wahoo app was started before Zwift and stopped after it; the trainer's distance is its own estimate.
    zwift = strava("VirtualRide", "bike", "virtual", "2026-03-12T17:30:04Z", 3720, 36210.0, device="Zwift")
    kickr = wahoo(12, "bike", "indoor", "2026-03-12T17:28:40Z", 3905, "33874.2")

    evidence = match(zwift, kickr)

    assert evidence is not None
    assert evidence.sport == "bike"
    assert evidence.overlap_ratio is not None and 0.95 <= evidence.overlap_ratio < 1
    assert evidence.distance_difference_ratio == pytest.approx(0.0645, abs=1e-4)


def test_a_zwift_ride_and_the_edge_recording_the_trainer_are_one_ride() -> None:
    zwift = strava("VirtualRide", "bike", "virtual", "2026-03-12T17:30:04Z", 3720, 36210.0, device="Zwift")
    edge = garmin(
        "INDOOR_CYCLING", "bike", "indoor", "2026-03-12T17:29:31Z", 3801, 31940.0, device="Edge 840"
    )

    assert match(edge, zwift) is not None


def test_a_pool_swim_strava_has_no_distance_for_is_the_watchs_swim() -> None:
    watch = garmin("LAP_SWIMMING", "swim", "pool", "2026-03-11T12:15:00Z", 2405, 2000.0)
    without_distance = strava("Swim", "swim", None, "2026-03-11T12:15:00Z", 2405, 0.0)
    distance_left_out = strava("Swim", "swim", None, "2026-03-11T12:15:00Z", 2405, None)

    for copy in (without_distance, distance_left_out):
        evidence = match(watch, copy)
        assert evidence is not None
        assert evidence.distance_rule == "one_without_distance"
        assert evidence.distance_difference_ratio is None


def test_a_copy_without_distance_needs_almost_the_same_time_to_be_merged() -> None:
    watch = garmin("LAP_SWIMMING", "swim", "pool", "2026-03-11T12:15:00Z", 2405, 2000.0)
    shorter = strava("Swim", "swim", None, "2026-03-11T12:19:00Z", 2165, 0.0)

    assert match(watch, shorter) is None


def test_an_apple_watch_run_from_the_health_bridge_and_its_strava_copy_are_one_run() -> None:
    exported = health_bridge(
        "Outdoor Run", "run", "2026-03-15 08:14:52 +0100", "2026-03-15 09:02:13 +0100", 8.12
    )
    copy = strava("Run", "run", None, "2026-03-15T07:14:55Z", 2838, 7910.3, device="Apple Watch Series 9")

    evidence = match(exported, copy)

    assert evidence is not None
    assert evidence.start_difference_s == 3.0
    assert evidence.distance_difference_ratio == pytest.approx(0.0258, abs=1e-4)


def test_two_copies_of_a_strength_session_without_distance_are_one_session() -> None:
    watch = garmin("STRENGTH_TRAINING", "strength", None, "2026-03-10T18:00:00Z", 2710, None)
    copy = strava("WeightTraining", "strength", None, "2026-03-10T18:00:00Z", 2710, 0.0)

    evidence = match(watch, copy)

    assert evidence is not None
    assert evidence.distance_rule == "both_without_distance"


# Workouts that only look alike


def test_a_bricks_ride_and_run_are_matched_only_part_for_part() -> None:
    bike = garmin("CYCLING", "bike", "road", "2026-05-02T07:00:00Z", 5400, 42105.0, device="Forerunner 965")
    run = garmin("RUNNING", "run", None, "2026-05-02T08:31:40Z", 2700, 9810.0)
    strava_bike = strava("Ride", "bike", "road", "2026-05-02T07:00:00Z", 5400, 42050.7)
    strava_run = strava("Run", "run", None, "2026-05-02T08:31:40Z", 2700, 9790.2)

    assert match(bike, strava_bike) is not None
    assert match(run, strava_run) is not None
    assert match(bike, strava_run) is None
    assert match(run, strava_bike) is None


def test_two_runs_the_same_morning_half_an_hour_apart_stay_two_runs() -> None:
    easy = garmin("RUNNING", "run", None, "2026-03-14T06:00:00Z", 2400, 7200.0)
    second = strava("Run", "run", None, "2026-03-14T07:10:00Z", 2400, 7180.0)

    assert match(easy, second) is None


def test_a_run_and_a_walk_at_the_same_time_are_not_one_workout() -> None:
    walk = health_bridge(
        "Outdoor Walk", "walk", "2026-03-14 08:00:00 +0100", "2026-03-14 08:50:00 +0100", 4.3
    )
    run = garmin("RUNNING", "run", None, "2026-03-14T07:05:00Z", 2700, 4400.0)

    assert match(walk, run) is None


def test_a_commute_and_the_long_ride_of_the_same_day_stay_two_rides() -> None:
    commute = strava("Ride", "bike", None, "2026-03-13T07:45:00Z", 1500, 8200.0)
    long_ride = garmin(
        "ROAD_BIKING", "bike", "road", "2026-03-13T09:30:00Z", 14400, 110250.0, device="Edge 840"
    )

    assert match(commute, long_ride) is None


def test_a_treadmill_run_and_an_outdoor_run_of_another_time_stay_two_runs() -> None:
    treadmill = garmin("TREADMILL_RUNNING", "run", "treadmill", "2026-03-16T06:30:00Z", 2700, 8000.0)
    outdoor = strava("Run", "run", None, "2026-03-16T17:00:00Z", 3000, 8400.0)

    assert match(treadmill, outdoor) is None


def test_a_zwift_race_inside_a_longer_trainer_session_is_not_that_session() -> None:
    session = garmin(
        "INDOOR_CYCLING", "bike", "indoor", "2026-03-12T17:00:00Z", 7200, 61000.0, device="Edge 840"
    )
    race = strava("VirtualRide", "bike", "virtual", "2026-03-12T17:05:00Z", 2700, 25400.0, device="Zwift")

    assert match(session, race) is None


def test_outdoor_copies_whose_distances_differ_by_a_third_are_not_merged() -> None:
    watch = garmin("RUNNING", "run", None, "2026-03-14T06:02:11Z", 3125, 10012.4)
    cropped = strava("Run", "run", None, "2026-03-14T06:02:11Z", 3125, 6650.0)

    assert match(watch, cropped) is None


def test_two_activities_of_one_provider_are_never_matched() -> None:
    first = strava("Run", "run", None, "2026-03-14T06:02:11Z", 3125, 9968.0)
    uploaded_again = strava("Run", "run", None, "2026-03-14T06:02:11Z", 3125, 9968.0)

    assert match(first, uploaded_again) is None


def test_without_a_duration_only_an_all_but_identical_start_matches() -> None:
    watch = garmin("RUNNING", "run", None, "2026-03-14T06:02:11Z", 3125, 10012.4)
    no_duration = strava("Run", "run", None, "2026-03-14T06:02:41Z", 3125, 9968.0).model_copy(
        update={"elapsed_time_s": None, "moving_time_s": None}
    )
    started_later = no_duration.model_copy(update={"start_time": at("2026-03-14T06:05:11Z")})

    assert match(watch, no_duration) is not None
    assert match(watch, started_later) is None


# The copy shown


def stored(data: ActivityData, stored_at: str) -> Activity:
    return Activity(
        id=uuid.uuid4(),
        user_id="athlete-1",
        **data.model_dump(exclude={"raw"}),
        raw=data.raw,
        created_at=at(stored_at),
    )


RUN = garmin("RUNNING", "run", None, "2026-03-14T06:02:11Z", 3125, 10012.4)


def copy_of_run(provider: str) -> ActivityData:
    return RUN.model_copy(update={"provider": provider, "external_id": f"{provider}-1"})


@pytest.mark.parametrize(
    ("shown", "other"),
    [
        ("garmin", "strava"),
        ("coros", "strava"),
        ("wahoo", "strava"),
        ("polar", "strava"),
        ("strava", "fitbit"),
        ("strava", "whoop"),
        ("strava", "oura"),
        ("oura", "health_bridge"),
        ("strava", "health_bridge"),
    ],
)
def test_the_copy_shown_is_the_recording_platforms_then_the_aggregators_then_the_wearables(
    shown: str, other: str
) -> None:
    # The copy shown arrives last: the choice does not depend on the order of arrival.
    first = stored(copy_of_run(other), "2026-03-14T07:00:00Z")
    later = stored(copy_of_run(shown), "2026-03-14T09:00:00Z")

    assert [a.provider for a in kept_and_duplicate(first, later)] == [shown, other]
    assert [a.provider for a in kept_and_duplicate(later, first)] == [shown, other]


def test_between_two_device_platforms_the_copy_stored_first_is_shown() -> None:
    coros = stored(copy_of_run("coros"), "2026-03-14T07:00:00Z")
    garmin_copy = stored(copy_of_run("garmin"), "2026-03-14T07:00:05Z")

    assert kept_and_duplicate(garmin_copy, coros) == (coros, garmin_copy)
    assert kept_and_duplicate(coros, garmin_copy) == (coros, garmin_copy)


def test_a_copy_from_a_provider_relay_does_not_rank_is_shown_last() -> None:
    bridge = stored(copy_of_run("health_bridge"), "2026-03-14T09:00:00Z")
    unknown = stored(copy_of_run("suunto"), "2026-03-14T07:00:00Z")

    assert kept_and_duplicate(unknown, bridge) == (bridge, unknown)


def test_copies_stored_in_one_transaction_are_still_chosen_the_same_way_whatever_the_order() -> None:
    same_time = "2026-03-14T07:00:00Z"
    a = stored(copy_of_run("garmin"), same_time)
    b = stored(copy_of_run("coros"), same_time)

    assert kept_and_duplicate(a, b) == kept_and_duplicate(b, a)


def test_a_start_ten_minutes_apart_is_as_far_as_matching_looks() -> None:
    watch = garmin("CYCLING", "bike", None, "2026-03-14T08:00:00Z", 14400, 110250.0, device="Edge 840")
    later = strava("Ride", "bike", None, "2026-03-14T08:11:00Z", 13740, 109800.0)
    within = strava("Ride", "bike", None, "2026-03-14T08:09:00Z", 13860, 109800.0)

    assert match(watch, later) is None
    assert match(watch, within) is not None
