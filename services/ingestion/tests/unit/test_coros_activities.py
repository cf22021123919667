"""COROS's workouts in Relay's model: pushed summaries read as they are, and a period listed by dates
with the token and the athlete's openId in the query, against the fake COROS."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingestion.providers import coros
from ingestion.providers.base import (
    Notification,
    ProviderHttp,
    ProviderUnavailable,
    RateLimited,
    Sport,
    SubSport,
    TokenRejected,
)
from relay_testing.fakes.providers import FakeProviders
from relay_testing.fakes.providers.api.coros import coros_workout

from .reading_fakes import CountingBudget, linked_athlete, notification_of, provider_http

OPEN_ID = "4a1f0c9e8b7d6a5f4e3d2c1b0a998877"
# 2024-06-01 06:00:00 UTC, 08:00 in Lyon (UTC+2: 8 quarters of an hour).
MORNING = 1717221600


@pytest.fixture
def http(fake: FakeProviders, client: httpx.AsyncClient, budget: CountingBudget) -> ProviderHttp:
    """COROS's API on the fake, for an athlete who linked their account."""
    user_id, token = linked_athlete(fake, "coros", OPEN_ID)
    return provider_http("coros", client, user_id, token, budget=budget, priority="backfill")


def notification(payload: dict[str, Any], aspect_type: str = "create") -> Notification:
    object_id = str(payload.get("labelId", ""))
    return notification_of("coros", OPEN_ID, object_id, payload, aspect_type=aspect_type)  # type: ignore[arg-type]


async def read_period(http: ProviderHttp, since: datetime, until: datetime) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = await coros.API.list_activities(http, since, until, cursor)
        pages.append([a.external_id for a in page.activities])
        if (cursor := page.cursor) is None:
            return pages


# Reading a workout.


def test_a_run_takes_its_offset_from_quarters_of_an_hour_and_its_kcal_from_calories() -> None:
    workout = coros_workout(OPEN_ID, labelId="418173292602490880", startTime=MORNING, endTime=MORNING + 3020)

    activity = coros.normalize(workout)

    assert activity is not None
    assert (activity.provider, activity.external_id, activity.provider_user_id) == (
        "coros",
        "418173292602490880",
        OPEN_ID,
    )
    assert (activity.sport, activity.sub_sport, activity.sport_type) == ("run", None, "8-1")
    assert activity.start_time == datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    assert activity.utc_offset_seconds == 7200
    assert (activity.elapsed_time_s, activity.moving_time_s) == (3020, 2995)
    assert activity.distance_m == 10005.0
    assert activity.average_speed_mps == pytest.approx(10005.0 / 2995)
    assert (activity.average_heartrate, activity.average_cadence) == (151, 174)
    assert activity.calories == 642
    assert activity.device_name == "COROS PACE 3"
    assert activity.raw == workout


def test_a_time_zone_west_of_greenwich_is_a_negative_offset() -> None:
    activity = coros.normalize(coros_workout(OPEN_ID, startTimezone=-20))  # UTC-5

    assert activity is not None
    assert activity.utc_offset_seconds == -18000


@pytest.mark.parametrize(
    ("mode", "sub_mode", "sport", "sub_sport"),
    [
        (8, 1, "run", None),
        (8, 2, "run", "indoor"),
        (15, 1, "run", "trail"),
        (20, 1, "run", "track"),
        (9, 1, "bike", None),
        (9, 2, "bike", "indoor"),
        (10, 1, "swim", "open_water"),
        (10, 2, "swim", "pool"),
        (16, 1, "hike", None),
        (14, 1, "hike", "mountain"),
        (31, 1, "walk", None),
        (23, 2, "strength", None),
        (18, 2, "cardio", "indoor"),
        (24, 2, "row", "indoor"),
        (19, 1, "ski", None),
        (13, 1, "other", None),
        (9, 7, "bike", None),  # a variant COROS added since: its mode still says what it is
        (99, 1, "other", None),
    ],
)
def test_every_coros_sport_has_a_sport(
    mode: int, sub_mode: int, sport: Sport, sub_sport: SubSport | None
) -> None:
    activity = coros.normalize(coros_workout(OPEN_ID, mode=mode, subMode=sub_mode))

    assert activity is not None
    assert (activity.sport, activity.sub_sport, activity.sport_type) == (
        sport,
        sub_sport,
        f"{mode}-{sub_mode}",
    )


def test_a_strength_session_has_no_distance_or_speed() -> None:
    activity = coros.normalize(coros_workout(OPEN_ID, mode=23, subMode=2))

    assert activity is not None
    assert (activity.distance_m, activity.average_speed_mps, activity.calories) == (None, None, 310)


def test_a_summary_without_id_or_start_is_not_an_activity() -> None:
    assert coros.normalize(coros_workout(OPEN_ID, labelId=None)) is None
    assert coros.normalize({"labelId": "1", "mode": 8, "subMode": 1}) is None


# Notifications.


async def test_a_pushed_workout_is_read_without_calling_coros(
    http: ProviderHttp, budget: CountingBudget
) -> None:
    workout = coros_workout(OPEN_ID, mode=10, subMode=2)

    fetched = await coros.API.fetch(http, notification(workout))

    assert [(a.external_id, a.sub_sport, a.provider_user_id) for a in fetched.activities] == [
        (workout["labelId"], "pool", OPEN_ID)
    ]
    assert budget.requests == 0


async def test_a_deletion_names_the_workout_without_a_call(
    http: ProviderHttp, budget: CountingBudget
) -> None:
    fetched = await coros.API.fetch(http, notification({"labelId": "418173292602490880"}, "delete"))

    assert (fetched.deleted, budget.requests) == (["418173292602490880"], 0)


# A period.


async def test_a_period_is_listed_thirty_days_a_call_with_the_token_and_open_id_in_the_query(
    fake: FakeProviders, http: ProviderHttp, budget: CountingBudget
) -> None:
    since = datetime.fromtimestamp(MORNING, UTC)
    until = since + timedelta(days=45)
    workouts = {
        "before": coros_workout(OPEN_ID, startTime=MORNING - 3600),
        "first": coros_workout(OPEN_ID, startTime=MORNING + 600, mode=9, subMode=2),
        "last_of_window": coros_workout(OPEN_ID, startTime=MORNING + 30 * 86400 - 60),
        "second_window": coros_workout(OPEN_ID, startTime=MORNING + 30 * 86400 + 60, mode=10, subMode=1),
        "after": coros_workout(OPEN_ID, startTime=MORNING + 46 * 86400),
    }
    for workout in workouts.values():
        await fake.put_activity("coros", OPEN_ID, workout["labelId"], workout)

    pages = await read_period(http, since, until)

    labels = {w["labelId"]: name for name, w in workouts.items()}
    assert [[labels[label] for label in page] for page in pages] == [
        ["first", "last_of_window"],
        ["second_window"],
    ]
    requests = await fake.received("coros", "/v2/coros/sport/list")
    assert [(r.query["startDate"], r.query["endDate"]) for r in requests] == [
        ("20240531", "20240702"),
        ("20240630", "20240717"),
    ]
    assert {(r.query["openId"], r.query["token"], r.auth_scheme) for r in requests} == {
        (OPEN_ID, http.access_token, None)
    }
    assert budget.requests == 2


async def test_a_workout_late_in_the_evening_east_of_greenwich_is_found_on_its_local_date(
    fake: FakeProviders, http: ProviderHttp
) -> None:
    # 23:30 UTC on 31 May: 07:30 on 1 June in UTC+8.
    evening = coros_workout(OPEN_ID, startTime=MORNING - 6 * 3600 - 1800, startTimezone=32)
    await fake.put_activity("coros", OPEN_ID, evening["labelId"], evening)
    since = datetime(2024, 5, 31, 23, 0, tzinfo=UTC)

    pages = await read_period(http, since, since + timedelta(hours=2))

    assert pages == [[evening["labelId"]]]


async def test_a_refused_token_is_token_rejected(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.revoke_grants("coros", OPEN_ID)
    since = datetime.fromtimestamp(MORNING, UTC)

    with pytest.raises(TokenRejected):
        await coros.API.list_activities(http, since, since + timedelta(days=1), None)


async def test_a_refusal_inside_an_http_200_is_still_a_refusal(budget: CountingBudget) -> None:
    answers = {
        "1002": {"result": "1002", "message": "Token expired", "data": None},
        "5000": {"result": "5000", "message": "Server error", "data": None},
    }
    since = datetime.fromtimestamp(MORNING, UTC)
    for result, problem in (("1002", TokenRejected), ("5000", ProviderUnavailable)):
        transport = httpx.MockTransport(lambda _, result=result: httpx.Response(200, json=answers[result]))
        async with httpx.AsyncClient(transport=transport) as client:
            http = provider_http(
                "coros", client, OPEN_ID, "token", budget=budget, base_url="https://open.coros.com"
            )
            with pytest.raises(problem):
                await coros.API.list_activities(http, since, since + timedelta(days=1), None)


async def test_a_coros_outage_is_worth_retrying(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.fail_next("coros", "server_error", "/v2/coros/sport/list")
    since = datetime.fromtimestamp(MORNING, UTC)

    with pytest.raises(ProviderUnavailable):
        await coros.API.list_activities(http, since, since + timedelta(days=1), None)


async def test_a_429_says_when_to_come_back(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.fail_next("coros", "rate_limited", "/v2/coros/sport/list")
    since = datetime.fromtimestamp(MORNING, UTC)

    with pytest.raises(RateLimited) as limited:
        await coros.API.list_activities(http, since, since + timedelta(days=1), None)
    assert 55 <= (limited.value.retry_at - datetime.now(UTC)).total_seconds() <= 60
