"""WHOOP v2 workouts in Relay's model, read as the worker reads them: the workout a `workout.updated`
webhook names (a `workout.deleted` needs no call), and the workouts of a period page by page, through the
fake WHOOP API."""

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from ingestion.providers import whoop
from ingestion.providers.base import (
    NotFoundAtProvider,
    Notification,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.providers.api import whoop as fake_whoop

from .reading_fakes import linked_athlete, notification_of, provider_http

NOW = datetime.now(UTC).replace(microsecond=0)

# A workout as WHOOP's `GET /developer/v2/activity/workout/{workoutId}` documents it.
TEMPO_RUN = {
    "id": "ecfc6a15-4661-442f-a9a4-f160dd7afae8",
    "v1_id": 1043,
    "user_id": 10129,
    "created_at": "2024-05-12T12:31:02.118Z",
    "updated_at": "2024-05-12T12:49:40.520Z",
    "start": "2024-05-12T11:15:44.774Z",
    "end": "2024-05-12T12:25:44.774Z",
    "timezone_offset": "-05:00",
    "sport_name": "running",
    "score_state": "SCORED",
    "score": {
        "strain": 13.2463,
        "average_heart_rate": 156,
        "max_heart_rate": 181,
        "kilojoule": 3347.2,
        "percent_recorded": 100.0,
        "distance_meter": 14020.5,
        "altitude_gain_meter": 96.6438,
        "altitude_change_meter": -0.7813,
        "zone_durations": {
            "zone_zero_milli": 0,
            "zone_one_milli": 180000,
            "zone_two_milli": 900000,
            "zone_three_milli": 1860000,
            "zone_four_milli": 1080000,
            "zone_five_milli": 180000,
        },
    },
    "sport_id": 0,
}


whoop_http = partial(provider_http, "whoop")


def workout_event(user_id: str, workout_id: str, event_type: str = "workout.updated") -> Notification:
    payload = fake_whoop.whoop_event(user_id, workout_id, event_type)
    aspect = "delete" if event_type == "workout.deleted" else "update"
    return notification_of("whoop", user_id, workout_id, payload, aspect_type=aspect, event_time=NOW)


def test_a_scored_workout_is_read_with_its_offset_and_kilojoules_as_kilocalories() -> None:
    activity = whoop.normalize(TEMPO_RUN)

    assert activity is not None
    assert activity.external_id == "ecfc6a15-4661-442f-a9a4-f160dd7afae8"
    assert activity.provider_user_id == "10129"
    assert (activity.sport, activity.sub_sport, activity.sport_type) == ("run", None, "running")
    assert activity.start_time == datetime(2024, 5, 12, 11, 15, 44, 774000, tzinfo=UTC)
    assert activity.utc_offset_seconds == -5 * 3600
    assert activity.elapsed_time_s == 70 * 60
    assert activity.distance_m == 14020.5
    assert activity.elevation_gain_m == 96.6438
    assert (activity.average_heartrate, activity.max_heartrate) == (156, 181)
    assert activity.calories == pytest.approx(800.0, abs=0.01)
    assert activity.raw["score"]["kilojoule"] == 3347.2


def test_a_workout_waiting_for_its_score_has_its_times_and_sport_but_no_measurements() -> None:
    pending = {**TEMPO_RUN, "score_state": "PENDING_SCORE", "timezone_offset": "+05:30"}
    del pending["score"]

    activity = whoop.normalize(pending)

    assert activity is not None
    assert (activity.sport, activity.utc_offset_seconds, activity.elapsed_time_s) == ("run", 19800, 4200)
    assert (activity.calories, activity.distance_m, activity.average_heartrate) == (None, None, None)


@pytest.mark.parametrize(
    ("sport_name", "expected"),
    [
        ("running", ("run", None)),
        ("track & field", ("run", "track")),
        ("cycling", ("bike", None)),
        ("mountain-biking", ("bike", "mountain")),
        ("spin", ("bike", "indoor")),
        ("swimming", ("swim", None)),
        ("walking", ("walk", None)),
        ("hiking/rucking", ("hike", None)),
        ("rowing", ("row", None)),
        ("cross-country-skiing", ("ski", None)),
        ("weightlifting", ("strength", None)),
        ("functional-fitness", ("strength", None)),
        ("hiit", ("cardio", None)),
        ("yoga", ("yoga", None)),
        ("tennis", ("other", None)),
        ("ice-bath", ("other", None)),
    ],
)
def test_whoop_sports_map_to_relays(sport_name: str, expected: tuple[str, str | None]) -> None:
    activity = whoop.normalize({**TEMPO_RUN, "sport_name": sport_name})

    assert activity is not None
    assert (activity.sport, activity.sub_sport, activity.sport_type) == (*expected, sport_name)


async def test_an_updated_workout_is_fetched_by_its_uuid_and_a_deleted_one_needs_no_call(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "whoop")
    workout = fake_whoop.whoop_workout(start=NOW - timedelta(hours=2), user_id=user_id, sport_name="cycling")
    await fake.put_activity("whoop", user_id, workout["id"], workout)
    http = whoop_http(client, user_id, token)

    updated = await whoop.API.fetch(http, workout_event(user_id, workout["id"]))
    deleted = await whoop.API.fetch(http, workout_event(user_id, workout["id"], "workout.deleted"))

    assert [(a.external_id, a.sport, a.start_time) for a in updated.activities] == [
        (workout["id"], "bike", NOW - timedelta(hours=2))
    ]
    assert (deleted.activities, deleted.deleted) == ([], [workout["id"]])
    assert len(await fake.received("whoop")) == 1


async def test_a_period_is_read_25_workouts_a_page_without_those_that_only_overlap_it(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "whoop")
    since, until = datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC)
    inside = [
        fake_whoop.whoop_workout(start=since + timedelta(hours=20 * n), user_id=user_id) for n in range(30)
    ]
    overlapping = fake_whoop.whoop_workout(
        start=since - timedelta(minutes=20), duration_s=3600, user_id=user_id
    )
    for workout in [overlapping, *inside]:
        await fake.put_activity("whoop", user_id, workout["id"], workout)
    http = whoop_http(client, user_id, token)

    first = await whoop.API.list_activities(http, since, until, None)
    assert first.cursor is not None
    second = await whoop.API.list_activities(http, since, until, first.cursor)

    assert [a.external_id for a in first.activities] == [w["id"] for w in inside[::-1][:25]]
    assert [a.external_id for a in second.activities] == [w["id"] for w in inside[::-1][25:]]
    assert second.cursor is None
    requests = await fake.received("whoop", "/developer/v2/activity/workout")
    assert requests[0].query == {
        "start": "2024-04-01T00:00:00.000Z",
        "end": "2024-05-01T00:00:00.000Z",
        "limit": "25",
    }
    assert requests[1].query["nextToken"] == first.cursor["next_token"]


async def test_a_refused_token_a_missing_workout_and_whoop_failures_are_told_apart(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, token = linked_athlete(fake, "whoop")
    http = whoop_http(client, user_id, token)
    period = (NOW - timedelta(days=7), NOW)

    with pytest.raises(NotFoundAtProvider):
        await whoop.API.fetch(http, workout_event(user_id, "4b1e0c3a-0000-4000-8000-000000000000"))
    await fake.revoke_grants("whoop", user_id)
    with pytest.raises(TokenRejected):
        await whoop.API.list_activities(http, *period, None)
    user_id, token = linked_athlete(fake, "whoop")
    http = whoop_http(client, user_id, token)
    await fake.fail_next("whoop", "server_error")
    with pytest.raises(ProviderUnavailable):
        await whoop.API.list_activities(http, *period, None)
    await fake.fail_next("whoop", "down")
    with pytest.raises(ProviderUnavailable):
        await whoop.API.list_activities(http, *period, None)
    await fake.fail_next("whoop", "rate_limited")
    with pytest.raises(RateLimited):
        await whoop.API.list_activities(http, *period, None)
