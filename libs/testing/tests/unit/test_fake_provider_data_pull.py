"""The fake providers' data APIs for the providers whose webhooks only point at data (Polar AccessLink,
Oura v2, WHOOP v2, Fitbit): each lists and serves the athlete's stored activities as the provider
documents it (filters, order, paging), checks the bearer token, and answers errors in its own shape.
Driven with plain httpx, as Relay's readers call them."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

import httpx
import pytest

from relay_testing.fakes.providers import FakeProviders, Provider, ProviderUser
from relay_testing.fakes.providers.api import fitbit, oura, polar, whoop
from relay_testing.fakes.providers.dialects import DIALECTS
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import Consent, Grant, PolarRegistration

FAKE_URL = "http://providers.test"
NOW = datetime.now(UTC).replace(microsecond=0)
OURA_WORKOUTS = "/oura/v2/usercollection/workout"
WHOOP_WORKOUTS = "/whoop/developer/v2/activity/workout"
FITBIT_LIST = "/fitbit/1/user/-/activities/list.json"


@pytest.fixture
def fake() -> FakeProviders:
    fake = FakeProviders()
    oauth = OAuthServer(fake.state)
    for module in (polar, oura, whoop, fitbit):
        module.add_routes(fake.app, fake.state, oauth)
    return fake


@pytest.fixture
async def client(fake: FakeProviders) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url=FAKE_URL) as client:
        yield client


def link(
    fake: FakeProviders, provider: Provider, *, scopes: list[str] | None = None, registered: bool = True
) -> tuple[str, dict[str, str]]:
    """An athlete who authorized Relay at `provider` (and, at Polar, was registered): their id there and
    the headers Relay calls the provider's API with."""
    user = fake.state.consenting_user(Consent(user=ProviderUser(provider=provider)), provider)
    token = fake.state.new_token()
    fake.state.store_grant(
        Grant(
            provider=provider,
            user_id=user.user_id,
            scopes=DIALECTS[provider].scopes.split() if scopes is None else scopes,
            access_token=token,
            access_expires_at=fake.state.now() + 3600,
        )
    )
    if provider == "polar" and registered:
        registration = PolarRegistration(
            member_id=f"relay-{user.user_id}", registered_at=fake.state.now_datetime()
        )
        fake.state.polar_registrations[user.user_id] = registration
    return user.user_id, {"Authorization": f"Bearer {token}"}


def ids(items: list[dict[str, object]], key: str = "id") -> list[str]:
    return [str(item[key]) for item in items]


# Polar AccessLink


async def test_polar_lists_the_exercises_uploaded_in_the_last_30_days_of_the_token_owner_only(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "polar")
    other_id, _ = link(fake, "polar")
    recent = polar.polar_exercise(start=NOW - timedelta(days=3), polar_user_id=user_id)
    old = polar.polar_exercise(start=NOW - timedelta(days=40), polar_user_id=user_id)
    theirs = polar.polar_exercise(start=NOW - timedelta(days=2), polar_user_id=other_id)
    for owner, exercise in ((user_id, old), (user_id, recent), (other_id, theirs)):
        await fake.put_activity("polar", owner, exercise["id"], exercise)

    response = await client.get("/polar/v3/exercises", headers=headers)

    assert response.status_code == 200
    assert response.json() == [recent]


async def test_polar_serves_an_exercise_by_its_hashed_id_and_answers_404_in_its_error_schema(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "polar")
    exercise = polar.polar_exercise(polar_user_id=user_id, detailed_sport_info="ROAD_BIKING", sport="CYCLING")
    await fake.put_activity("polar", user_id, exercise["id"], exercise)

    found = await client.get(f"/polar/v3/exercises/{exercise['id']}", headers=headers)
    missing = await client.get("/polar/v3/exercises/zZ9x8Y7w", headers=headers)

    assert found.json() == exercise
    assert found.json()["start_time_utc_offset"] == 120
    assert missing.status_code == 404
    assert missing.json() == {
        "timestamp": ANY,
        "status": 404,
        "errorType": "not_found",
        "message": "Exercise not found",
        "corrId": ANY,
    }


async def test_polar_refuses_a_missing_token_and_a_user_not_registered_with_the_client(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    _, unregistered = link(fake, "polar", registered=False)

    anonymous = await client.get("/polar/v3/exercises")
    not_registered = await client.get("/polar/v3/exercises", headers=unregistered)

    assert anonymous.status_code == 401
    assert anonymous.json()["status"] == 401
    assert not_registered.status_code == 403


def test_polar_exercise_event_points_at_the_exercise_under_the_given_api() -> None:
    event = polar.polar_exercise_event("475", "aQlC83", f"{FAKE_URL}/polar/")

    assert event == {
        "event": "EXERCISE",
        "user_id": 475,
        "entity_id": "aQlC83",
        "timestamp": ANY,
        "url": f"{FAKE_URL}/polar/v3/exercises/aQlC83",
    }


# Oura v2


async def test_oura_lists_the_workouts_of_the_days_asked_page_by_page(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "oura")
    first_day = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    inside = [oura.oura_workout(start=first_day + timedelta(days=n % 5, hours=n)) for n in range(13)]
    before = oura.oura_workout(start=first_day - timedelta(days=2))
    for workout in [before, *inside]:
        await fake.put_activity("oura", user_id, workout["id"], workout)
    query = {"start_date": "2024-05-01", "end_date": "2024-05-06"}

    first = (await client.get(OURA_WORKOUTS, params=query, headers=headers)).json()
    second_query = {**query, "next_token": first["next_token"]}
    second = (await client.get(OURA_WORKOUTS, params=second_query, headers=headers)).json()

    assert len(first["data"]) == oura.PAGE_SIZE
    assert first["next_token"]
    assert second["next_token"] is None
    listed = first["data"] + second["data"]
    assert sorted(ids(listed)) == sorted(ids(inside))
    starts = [workout["start_datetime"] for workout in listed]
    assert [datetime.fromisoformat(s) for s in starts] == sorted(datetime.fromisoformat(s) for s in starts)


async def test_oura_leaves_out_the_day_of_a_bare_end_date_and_keeps_it_for_a_date_time(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "oura")
    workout = oura.oura_workout(start=datetime(2024, 5, 6, 16, 0, tzinfo=UTC))
    await fake.put_activity("oura", user_id, workout["id"], workout)

    bare = await client.get(
        OURA_WORKOUTS,
        params={"start_date": "2024-05-01", "end_date": "2024-05-06"},
        headers=headers,
    )
    timed = await client.get(
        OURA_WORKOUTS,
        params={"start_date": "2024-05-01", "end_date": "2024-05-06T23:59:59"},
        headers=headers,
    )

    assert bare.json()["data"] == []
    assert timed.json()["data"] == [workout]


async def test_oura_serves_a_workout_by_id_and_answers_errors_as_detail(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "oura")
    workout = oura.oura_workout(activity="cycling", source="manual", label="Commute")
    await fake.put_activity("oura", user_id, workout["id"], workout)

    found = await client.get(f"{OURA_WORKOUTS}/{workout['id']}", headers=headers)
    missing = await client.get(f"{OURA_WORKOUTS}/2-5daccc0952", headers=headers)
    bad_token = await client.get(OURA_WORKOUTS, params={"next_token": "%%%"}, headers=headers)
    anonymous = await client.get(f"{OURA_WORKOUTS}/{workout['id']}")

    assert found.json() == workout
    assert (missing.status_code, missing.json()) == (404, {"detail": "Document not found"})
    assert (bad_token.status_code, bad_token.json()) == (400, {"detail": "Invalid next_token"})
    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": ANY})


async def test_oura_answers_an_injected_server_error_in_its_own_shape(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    _, headers = link(fake, "oura")
    await fake.fail_next("oura", "server_error", "/v2/usercollection/workout")

    failed = await client.get(OURA_WORKOUTS, headers=headers)
    retried = await client.get(OURA_WORKOUTS, headers=headers)

    assert (failed.status_code, failed.json()) == (500, {"detail": "Internal Server Error"})
    assert retried.status_code == 200


def test_oura_event_names_the_workout_and_what_happened_to_it() -> None:
    event = oura.oura_event("8f9a5221-639e-4a6c-b6b4-6cd2a1d0c6f0", "wk-1", "delete")

    assert event == {
        "event_type": "delete",
        "data_type": "workout",
        "object_id": "wk-1",
        "event_time": ANY,
        "user_id": "8f9a5221-639e-4a6c-b6b4-6cd2a1d0c6f0",
    }


# WHOOP v2


async def test_whoop_lists_workouts_newest_first_in_pages_of_the_asked_limit(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "whoop")
    start = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
    workouts = [whoop.whoop_workout(start=start + timedelta(hours=12 * n), user_id=user_id) for n in range(7)]
    for workout in workouts:
        await fake.put_activity("whoop", user_id, workout["id"], workout)
    query = {"start": "2024-05-01T00:00:00.000Z", "end": "2024-05-10T00:00:00.000Z", "limit": "5"}

    first = (await client.get(WHOOP_WORKOUTS, params=query, headers=headers)).json()
    following = {**query, "nextToken": first["next_token"]}
    second = (await client.get(WHOOP_WORKOUTS, params=following, headers=headers)).json()

    assert ids(first["records"]) == ids(workouts[::-1][:5])
    assert ids(second["records"]) == ids(workouts[::-1][5:])
    assert "next_token" not in second


async def test_whoop_keeps_the_workouts_that_overlap_the_period_and_no_other(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "whoop")
    across_start = whoop.whoop_workout(start=datetime(2024, 5, 1, 23, 30, tzinfo=UTC), duration_s=3600)
    ended_before = whoop.whoop_workout(start=datetime(2024, 5, 1, 20, 0, tzinfo=UTC), duration_s=1800)
    inside = whoop.whoop_workout(start=datetime(2024, 5, 2, 9, 0, tzinfo=UTC))
    at_end = whoop.whoop_workout(start=datetime(2024, 5, 3, 0, 0, tzinfo=UTC))
    for workout in (across_start, ended_before, inside, at_end):
        await fake.put_activity("whoop", user_id, workout["id"], workout)
    query = {"start": "2024-05-02T00:00:00.000Z", "end": "2024-05-03T00:00:00.000Z", "limit": "25"}

    answer = await client.get(WHOOP_WORKOUTS, params=query, headers=headers)

    assert ids(answer.json()["records"]) == [inside["id"], across_start["id"]]


async def test_whoop_refuses_a_limit_over_25_a_malformed_id_and_answers_404_in_its_shape(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    _, headers = link(fake, "whoop")

    too_many = await client.get(WHOOP_WORKOUTS, params={"limit": "26"}, headers=headers)
    malformed = await client.get(f"{WHOOP_WORKOUTS}/1043", headers=headers)
    missing = await client.get(f"{WHOOP_WORKOUTS}/ecfc6a15-4661-442f-a9a4-f160dd7afae8", headers=headers)
    anonymous = await client.get(WHOOP_WORKOUTS)

    assert too_many.status_code == 400
    assert malformed.status_code == 400
    assert (missing.status_code, missing.json()) == (404, {"error": "not_found", "error_description": ANY})
    assert anonymous.status_code == 401


def test_whoop_event_carries_the_workout_uuid_and_the_event_type() -> None:
    event = whoop.whoop_event(10129, "ecfc6a15-4661-442f-a9a4-f160dd7afae8", "workout.deleted")

    assert event == {
        "user_id": 10129,
        "id": "ecfc6a15-4661-442f-a9a4-f160dd7afae8",
        "type": "workout.deleted",
        "trace_id": ANY,
    }


# Fitbit


async def test_fitbit_lists_after_a_date_oldest_first_and_links_the_next_page(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "fitbit")
    first_day = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    earlier = fitbit.fitbit_activity(start=first_day - timedelta(days=1))
    entries = [fitbit.fitbit_activity(start=first_day + timedelta(hours=9 * n)) for n in range(5)]
    for entry in [entries[3], earlier, entries[0], entries[4], entries[1], entries[2]]:
        await fake.put_activity("fitbit", user_id, entry["logId"], entry)
    query = {"afterDate": "2024-05-01", "sort": "asc", "offset": "0", "limit": "3"}

    first = (await client.get(FITBIT_LIST, params=query, headers=headers)).json()
    second = (await client.get(first["pagination"]["next"], headers=headers)).json()

    assert ids(first["activities"], "logId") == ids(entries[:3], "logId")
    assert first["pagination"] == {
        "afterDate": "2024-05-01",
        "limit": 3,
        "next": f"{FAKE_URL}{FITBIT_LIST}?offset=3&limit=3&sort=asc&afterDate=2024-05-01",
        "offset": 0,
        "previous": "",
        "sort": "asc",
    }
    assert ids(second["activities"], "logId") == ids(entries[3:], "logId")
    assert second["pagination"]["next"] == ""
    assert second["pagination"]["previous"].endswith("offset=0&limit=3&sort=asc&afterDate=2024-05-01")


async def test_fitbit_lists_before_a_date_newest_first_by_local_start_time(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    user_id, headers = link(fake, "fitbit")
    # 23:30 in Los Angeles on 1 May is already 2 May in UTC: Fitbit goes by the athlete's clock.
    late_evening = fitbit.fitbit_activity(
        start=datetime(2024, 5, 2, 6, 30, tzinfo=UTC), utc_offset_minutes=-420
    )
    morning = fitbit.fitbit_activity(start=datetime(2024, 5, 1, 14, 0, tzinfo=UTC), utc_offset_minutes=-420)
    next_day = fitbit.fitbit_activity(start=datetime(2024, 5, 2, 15, 0, tzinfo=UTC), utc_offset_minutes=-420)
    for entry in (morning, next_day, late_evening):
        await fake.put_activity("fitbit", user_id, entry["logId"], entry)
    query = {"beforeDate": "2024-05-02", "sort": "desc", "offset": "0", "limit": "10"}

    answer = await client.get(FITBIT_LIST, params=query, headers=headers)

    assert ids(answer.json()["activities"], "logId") == ids([late_evening, morning], "logId")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (
            {
                "afterDate": "2024-05-01",
                "beforeDate": "2024-05-09",
                "sort": "asc",
                "offset": "0",
                "limit": "10",
            },
            "beforeDate",
        ),
        ({"sort": "asc", "offset": "0", "limit": "10"}, "beforeDate"),
        ({"afterDate": "2024-05-01", "sort": "desc", "offset": "0", "limit": "10"}, "sort"),
        ({"afterDate": "2024-05-01", "sort": "asc", "offset": "0", "limit": "101"}, "limit"),
        ({"afterDate": "May 1st", "sort": "asc", "offset": "0", "limit": "10"}, "afterDate"),
    ],
)
async def test_fitbit_refuses_a_query_its_documentation_does_not_allow(
    fake: FakeProviders, client: httpx.AsyncClient, query: dict[str, str], field: str
) -> None:
    _, headers = link(fake, "fitbit")

    answer = await client.get(FITBIT_LIST, params={**query, "offset": "0"}, headers=headers)

    assert answer.status_code == 400
    assert answer.json() == {
        "errors": [{"errorType": "validation", "fieldName": field, "message": ANY}],
        "success": False,
    }


async def test_fitbit_needs_the_activity_scope_and_a_valid_token(
    fake: FakeProviders, client: httpx.AsyncClient
) -> None:
    _, without_activity = link(fake, "fitbit", scopes=["heartrate", "profile"])
    query = {"afterDate": "2024-05-01", "sort": "asc", "offset": "0", "limit": "10"}

    forbidden = await client.get(FITBIT_LIST, params=query, headers=without_activity)
    anonymous = await client.get(FITBIT_LIST, params=query)

    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["errorType"] == "insufficient_scope"
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["errorType"] == "invalid_token"


def test_fitbit_notification_is_a_list_naming_the_collection_and_the_date() -> None:
    assert fitbit.fitbit_notification("GGNJL9", datetime(2024, 5, 1).date()) == [
        {
            "collectionType": "activities",
            "date": "2024-05-01",
            "ownerId": "GGNJL9",
            "ownerType": "user",
            "subscriptionId": "relay-activities",
        }
    ]
