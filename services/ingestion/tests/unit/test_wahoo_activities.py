"""Wahoo's workouts in Relay's model: the summary and its workout read from the webhook, completed from the
API when the workout is missing, and a period read page by page, most recent first, against the fake."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ingestion.providers import wahoo
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
from relay_testing.fakes.providers.api.wahoo import wahoo_webhook, wahoo_workout

from .reading_fakes import CountingBudget, linked_athlete, notification_of, provider_http

USER = "60462"
SUMMER_MORNING = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def http(fake: FakeProviders, client: httpx.AsyncClient, budget: CountingBudget) -> ProviderHttp:
    """Wahoo's API on the fake, for an athlete who linked their account."""
    user_id, token = linked_athlete(fake, "wahoo", USER)
    return provider_http("wahoo", client, user_id, token, budget=budget, priority="backfill")


def notification(payload: dict[str, Any], object_id: str) -> Notification:
    return notification_of("wahoo", USER, object_id, payload)


# Reading a workout.


def test_a_ride_reads_wahoos_text_numbers_its_time_zone_and_normalized_power() -> None:
    ride = wahoo_workout(id=187456321, starts=SUMMER_MORNING, name="Col de la Luère")

    activity = wahoo.normalize(ride)

    assert activity is not None
    assert (activity.provider, activity.external_id, activity.name) == (
        "wahoo",
        "187456321",
        "Col de la Luère",
    )
    assert (activity.sport, activity.sub_sport, activity.sport_type) == ("bike", None, "0")
    assert activity.start_time == SUMMER_MORNING
    assert (activity.timezone, activity.utc_offset_seconds) == ("Europe/Paris", 7200)
    assert (activity.elapsed_time_s, activity.moving_time_s) == (7400, 7012)
    assert (activity.distance_m, activity.elevation_gain_m) == (61234.12, 612.0)
    assert (activity.average_power_w, activity.normalized_power_w) == (201.45, 218.0)
    assert (activity.average_speed_mps, activity.average_cadence) == (8.73, 88.0)
    assert (activity.average_heartrate, activity.calories) == (139.0, 1204.0)
    assert activity.is_manual is False
    assert activity.raw == ride


def test_the_offset_follows_the_time_zone_in_winter() -> None:
    activity = wahoo.normalize(wahoo_workout(starts=datetime(2024, 1, 15, 7, 0, tzinfo=UTC)))

    assert activity is not None
    assert activity.utc_offset_seconds == 3600


@pytest.mark.parametrize(
    ("type_id", "sport", "sub_sport"),
    [
        (0, "bike", None),
        (15, "bike", "road"),
        (12, "bike", "indoor"),
        (61, "bike", "indoor"),
        (68, "bike", "virtual"),
        (13, "bike", "mountain"),
        (64, "bike", "e_bike"),
        (1, "run", None),
        (4, "run", "trail"),
        (5, "run", "treadmill"),
        (71, "run", "virtual"),
        (25, "swim", "pool"),
        (26, "swim", "open_water"),
        (6, "walk", None),
        (9, "hike", None),
        (22, "row", "indoor"),
        (30, "ski", None),
        (42, "strength", None),
        (66, "yoga", None),
        (43, "cardio", "indoor"),
        (17, "other", None),
        (255, "other", None),
        (512, "other", None),
    ],
)
def test_every_wahoo_workout_type_has_a_sport(type_id: int, sport: Sport, sub_sport: SubSport | None) -> None:
    activity = wahoo.normalize(wahoo_workout(workout_type_id=type_id))

    assert activity is not None
    assert (activity.sport, activity.sub_sport, activity.sport_type) == (sport, sub_sport, str(type_id))


def test_the_webhook_and_the_list_describe_the_same_activity() -> None:
    run = wahoo_workout(id=187456400, workout_type_id=1, starts=SUMMER_MORNING)

    from_list = wahoo.normalize(run)
    from_webhook = wahoo.normalize(wahoo_webhook(USER, run, webhook_token="wh"))

    assert from_list is not None and from_webhook is not None
    assert from_webhook.model_dump(exclude={"raw", "provider_user_id"}) == from_list.model_dump(
        exclude={"raw", "provider_user_id"}
    )
    assert (from_webhook.provider_user_id, from_list.provider_user_id) == (USER, None)
    assert "webhook_token" not in from_webhook.raw
    assert (from_list.average_power_w, from_list.distance_m) == (None, 10021.37)


def test_a_workout_wahoo_has_no_summary_for_yet_keeps_its_planned_minutes() -> None:
    activity = wahoo.normalize(wahoo_workout(workout_summary=None, minutes=45))

    assert activity is not None
    assert (activity.elapsed_time_s, activity.distance_m, activity.timezone) == (2700, None, None)


def test_a_manual_summary_is_marked_manual() -> None:
    activity = wahoo.normalize(wahoo_workout(summary={"manual": True}))

    assert activity is not None
    assert activity.is_manual is True


def test_a_summary_alone_is_not_an_activity() -> None:
    summary = wahoo_workout()["workout_summary"]

    assert wahoo.normalize(summary) is None


# Notifications.


async def test_the_webhook_is_read_without_calling_wahoo(http: ProviderHttp, budget: CountingBudget) -> None:
    ride = wahoo_workout(workout_type_id=68)

    fetched = await wahoo.API.fetch(
        http, notification(wahoo_webhook(USER, ride, webhook_token="wh"), str(ride["id"]))
    )

    assert [(a.external_id, a.sub_sport, a.provider_user_id) for a in fetched.activities] == [
        (str(ride["id"]), "virtual", USER)
    ]
    assert budget.requests == 0


async def test_a_summary_that_came_without_its_workout_is_completed_from_the_api(
    fake: FakeProviders, http: ProviderHttp, budget: CountingBudget
) -> None:
    ride = wahoo_workout(workout_type_id=61)
    await fake.put_activity("wahoo", USER, ride["id"], ride)
    body = wahoo_webhook(USER, ride, webhook_token="wh")
    del body["workout_summary"]["workout"]

    fetched = await wahoo.API.fetch(http, notification(body, str(ride["id"])))

    assert [(a.external_id, a.sub_sport, a.provider_user_id) for a in fetched.activities] == [
        (str(ride["id"]), "indoor", USER)
    ]
    assert budget.requests == 1
    assert len(await fake.received("wahoo", f"/v1/workouts/{ride['id']}")) == 1


# A period.


async def test_a_period_is_read_page_by_page_until_the_first_workout_older_than_it(
    fake: FakeProviders, http: ProviderHttp, budget: CountingBudget
) -> None:
    for day in range(70):
        workout = wahoo_workout(id=5000 + day, starts=SUMMER_MORNING + timedelta(days=day))
        await fake.put_activity("wahoo", USER, workout["id"], workout)
    since = SUMMER_MORNING + timedelta(days=10)
    until = SUMMER_MORNING + timedelta(days=65)

    pages, cursor = [], None
    while True:
        page = await wahoo.API.list_activities(http, since, until, cursor)
        pages.append([int(a.external_id) for a in page.activities])
        if (cursor := page.cursor) is None:
            break

    assert pages == [list(range(5064, 5019, -1)), list(range(5019, 5009, -1))]
    assert {a for page in pages for a in page} == set(range(5010, 5065))
    requests = await fake.received("wahoo", "/v1/workouts")
    assert [(r.query["page"], r.query["per_page"]) for r in requests] == [("1", "50"), ("2", "50")]
    assert budget.requests == 2


async def test_a_short_history_ends_on_its_only_page(fake: FakeProviders, http: ProviderHttp) -> None:
    run = wahoo_workout(workout_type_id=1, starts=SUMMER_MORNING)
    await fake.put_activity("wahoo", USER, run["id"], run)

    page = await wahoo.API.list_activities(
        http, SUMMER_MORNING - timedelta(days=90), SUMMER_MORNING + timedelta(days=1), None
    )

    assert ([a.external_id for a in page.activities], page.cursor) == ([str(run["id"])], None)
    assert page.activities[0].provider_user_id == USER


async def test_a_revoked_token_is_refused(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.revoke_grants("wahoo", USER)

    with pytest.raises(TokenRejected):
        await wahoo.API.list_activities(http, SUMMER_MORNING, SUMMER_MORNING + timedelta(days=1), None)


async def test_a_wahoo_outage_is_worth_retrying(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.fail_next("wahoo", "down", "/v1/workouts")

    with pytest.raises(ProviderUnavailable):
        await wahoo.API.list_activities(http, SUMMER_MORNING, SUMMER_MORNING + timedelta(days=1), None)


async def test_a_429_says_when_to_come_back(fake: FakeProviders, http: ProviderHttp) -> None:
    await fake.fail_next("wahoo", "rate_limited", "/v1/workouts")

    with pytest.raises(RateLimited) as limited:
        await wahoo.API.list_activities(http, SUMMER_MORNING, SUMMER_MORNING + timedelta(days=1), None)
    assert 55 <= (limited.value.retry_at - datetime.now(UTC)).total_seconds() <= 60
