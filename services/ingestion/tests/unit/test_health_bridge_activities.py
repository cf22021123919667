"""Apple Health and Google Fit workouts, as Health Auto Export uploads them, in Relay's model: the phone's
offset kept, the units of the phone's settings converted, and ids that stay the same across uploads."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ingestion.providers import health_bridge
from ingestion.providers.base import Notification, ProviderHttp, Sport, SubSport

from .reading_fakes import notification_of, provider_http


def health_export_workout(**overrides: Any) -> dict[str, Any]:
    """A workout as Health Auto Export (export version 2) writes it: an outdoor run recorded by an
    Apple Watch in Lyon, in metric units, unless `overrides` say otherwise (None leaves a field out)."""
    workout: dict[str, Any] = {
        "id": "5D3A8C1E-7F2B-4E19-9C6D-2A8B4F0E1D37",
        "name": "Outdoor Run",
        "start": "2024-06-01 07:02:11 +0200",
        "end": "2024-06-01 07:53:40 +0200",
        "duration": 3089.4,
        "location": "Outdoor",
        "isIndoor": False,
        "distance": {"qty": 10.12, "units": "km"},
        "activeEnergyBurned": {"qty": 702.3, "units": "kcal"},
        "intensity": {"qty": 9.8, "units": "kcal/hr·kg"},
        "elevationUp": {"qty": 84.2, "units": "m"},
        "avgSpeed": {"qty": 11.79, "units": "km/hr"},
        "heartRate": {
            "min": {"qty": 98, "units": "bpm"},
            "avg": {"qty": 152, "units": "bpm"},
            "max": {"qty": 176, "units": "bpm"},
        },
        "avgHeartRate": {"qty": 152, "units": "bpm"},
        "maxHeartRate": {"qty": 176, "units": "bpm"},
        "stepCadence": {"qty": 171, "units": "spm"},
        "temperature": {"qty": 18.5, "units": "degC"},
        "humidity": {"qty": 64, "units": "%"},
        "metadata": {},
    }
    workout |= overrides
    return {key: value for key, value in workout.items() if value is not None}


def upload(*workouts: dict[str, Any]) -> Notification:
    owner_id = "3f6c2d1e-9a4b-4c8d-b7e6-5a1f0e2d3c4b"
    payload = {"workouts": list(workouts)}
    return notification_of("health_bridge", owner_id, "a5b6c7d8-upload", payload, object_type="upload")


class NoBudget:
    async def acquire(self, provider: str, kind: str, priority: str) -> None:
        raise AssertionError("the bridge has no API to call")

    async def observe(self, provider: str, response: httpx.Response) -> None:
        raise AssertionError("the bridge has no API to call")


@pytest.fixture
async def http() -> AsyncIterator[ProviderHttp]:
    """Whatever a bridge reader would call answers 500; the budget fails the test first."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(500))) as client:
        yield provider_http(
            "health_bridge", client, "", "", budget=NoBudget(), base_url="http://nowhere.invalid"
        )


def test_an_outdoor_run_keeps_the_phones_offset_and_its_metric_units() -> None:
    workout = health_export_workout()

    activity = health_bridge.normalize(workout)

    assert activity is not None
    assert (activity.provider, activity.external_id) == (
        "health_bridge",
        "5D3A8C1E-7F2B-4E19-9C6D-2A8B4F0E1D37",
    )
    assert (activity.sport, activity.sub_sport, activity.sport_type, activity.name) == (
        "run",
        None,
        "Outdoor Run",
        "Outdoor Run",
    )
    assert activity.start_time == datetime(2024, 6, 1, 5, 2, 11, tzinfo=UTC)
    assert (activity.utc_offset_seconds, activity.timezone) == (7200, None)
    assert activity.elapsed_time_s == 3089
    assert activity.distance_m == pytest.approx(10120.0)
    assert activity.elevation_gain_m == 84.2
    assert activity.average_speed_mps == pytest.approx(3.275, abs=1e-3)
    assert (activity.average_heartrate, activity.max_heartrate) == (152, 176)
    assert activity.average_cadence == 171
    assert activity.calories == 702.3
    assert activity.raw == workout


def test_imperial_units_and_kilojoules_are_converted() -> None:
    workout = health_export_workout(
        distance={"qty": 6.29, "units": "mi"},
        elevationUp={"qty": 276.2, "units": "ft"},
        avgSpeed={"qty": 7.33, "units": "mph"},
        activeEnergyBurned={"qty": 2938.4, "units": "kJ"},
        start="2024-01-14 06:45:00 -0500",
    )

    activity = health_bridge.normalize(workout)

    assert activity is not None
    assert activity.distance_m == pytest.approx(10122.8, abs=0.1)
    assert activity.elevation_gain_m == pytest.approx(84.19, abs=0.01)
    assert activity.average_speed_mps == pytest.approx(3.277, abs=1e-3)
    assert activity.calories == pytest.approx(702.3, abs=0.1)
    assert (activity.start_time, activity.utc_offset_seconds) == (
        datetime(2024, 1, 14, 11, 45, tzinfo=UTC),
        -18000,
    )


def test_a_quantity_in_a_unit_not_understood_is_left_unknown() -> None:
    activity = health_bridge.normalize(health_export_workout(distance={"qty": 12, "units": "furlongs"}))

    assert activity is not None
    assert activity.distance_m is None


def test_the_heart_rate_summary_is_read_when_the_flat_fields_are_missing() -> None:
    workout = health_export_workout(avgHeartRate=None, maxHeartRate=None)

    activity = health_bridge.normalize(workout)

    assert activity is not None
    assert (activity.average_heartrate, activity.max_heartrate) == (152, 176)


@pytest.mark.parametrize(
    ("name", "location", "sport", "sub_sport"),
    [
        ("Outdoor Run", "Outdoor", "run", None),
        ("Indoor Run", "Indoor", "run", "indoor"),
        ("Running", None, "run", None),
        ("Trail Running", "Outdoor", "run", "trail"),
        ("Outdoor Cycling", "Outdoor", "bike", None),
        ("Indoor Cycling", "Indoor", "bike", "indoor"),
        ("Pool Swim", "Pool", "swim", "pool"),
        ("Open Water Swim", "Open Water", "swim", "open_water"),
        ("Swimming", "Pool", "swim", "pool"),
        ("Outdoor Walk", "Outdoor", "walk", None),
        ("Indoor Walk", "Indoor", "walk", "indoor"),
        ("Hiking", "Outdoor", "hike", None),
        ("Rowing", "Indoor", "row", "indoor"),
        ("Cross Country Skiing", "Outdoor", "ski", None),
        ("Traditional Strength Training", "Indoor", "strength", None),
        ("Functional Strength Training", "Indoor", "strength", None),
        ("Yoga", "Indoor", "yoga", None),
        ("High Intensity Interval Training", "Indoor", "cardio", "indoor"),
        ("Elliptical", "Indoor", "cardio", "indoor"),
        ("Tennis", "Outdoor", "other", None),
    ],
)
def test_every_workout_type_has_a_sport(
    name: str, location: str | None, sport: Sport, sub_sport: SubSport | None
) -> None:
    activity = health_bridge.normalize(health_export_workout(name=name, location=location, isIndoor=None))

    assert activity is not None
    assert (activity.sport, activity.sub_sport, activity.sport_type) == (sport, sub_sport, name)


def test_a_workout_without_id_gets_the_same_id_in_every_upload_that_repeats_it() -> None:
    first = health_bridge.normalize(health_export_workout(id=None))
    again = health_bridge.normalize(health_export_workout(id=None, duration=3090.0))
    same_instant_other_offset = health_bridge.normalize(
        health_export_workout(id=None, start="2024-06-01 05:02:11 +0000")
    )
    later = health_bridge.normalize(health_export_workout(id=None, start="2024-06-01 18:30:00 +0200"))

    assert (
        first is not None
        and again is not None
        and same_instant_other_offset is not None
        and later is not None
    )
    assert first.external_id == again.external_id == same_instant_other_offset.external_id
    assert later.external_id != first.external_id


def test_a_workout_without_a_start_is_not_an_activity() -> None:
    assert health_bridge.normalize(health_export_workout(start=None)) is None
    assert health_bridge.normalize(health_export_workout(start="yesterday morning")) is None


async def test_every_workout_of_an_upload_is_read_without_a_call(http: ProviderHttp) -> None:
    run = health_export_workout()
    swim = health_export_workout(
        id="A1B2", name="Pool Swim", location="Pool", distance={"qty": 1500, "units": "m"}
    )

    fetched = await health_bridge.API.fetch(http, upload(run, swim, health_export_workout(start=None)))

    assert [(a.external_id, a.sport, a.distance_m) for a in fetched.activities] == [
        (run["id"], "run", pytest.approx(10120.0)),
        ("A1B2", "swim", 1500.0),
    ]


async def test_the_apps_whole_document_is_read_too(http: ProviderHttp) -> None:
    document = {"data": {"metrics": [], "workouts": [health_export_workout()]}}

    fetched = await health_bridge.API.fetch(http, replace(upload(), payload=document))

    assert [a.sport for a in fetched.activities] == ["run"]


async def test_there_is_nothing_to_list(http: ProviderHttp) -> None:
    page = await health_bridge.API.list_activities(
        http, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC), None
    )

    assert (page.activities, page.cursor) == ([], None)
