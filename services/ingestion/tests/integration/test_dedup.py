"""One workout sent by several providers, on the real database: the athlete sees it once (the copies
not shown point at the one shown), its lineage says why, the athlete can separate a wrong merge for
good, a provider's change or deletion keeps the history right, and every change is announced with
`ingestion.activity.merged`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ingestion.dedup import promote_duplicates, reconcile, undo_merge
from ingestion.endpoints.merges import router
from ingestion.models import Activity, ActivityMerge
from relay_contracts.catalog import INGESTION_ACTIVITY_MERGED
from relay_contracts.events.common import Actor
from relay_platform.auth import AccessTokenVerifier, SessionRevocations
from relay_platform.config import ServiceSettings
from relay_platform.errors import NotFound
from relay_platform.outbox import OutboxMessage
from relay_platform.service import create_service_app
from relay_testing.identity import FakeIdentity
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration

TOPIC_PREFIX = "dedup-tests."
ATHLETE = "athlete-1"
PARTNER = "athlete-2"
Sessions = async_sessionmaker[AsyncSession]


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(UTC)


def garmin_run(user_id: str = ATHLETE, **changes: Any) -> Activity:
    """A Forerunner run as Garmin's Activity API pushes it."""
    raw = {
        "summaryId": "17403319622",
        "activityId": 17403319622,
        "activityType": "RUNNING",
        "startTimeInSeconds": 1773468131,
        "startTimeOffsetInSeconds": 3600,
        "durationInSeconds": 3125,
        "distanceInMeters": 10012.4,
        "deviceName": "Forerunner 965",
    }
    return Activity(
        user_id=user_id,
        connection_id=f"{user_id}-garmin",
        provider="garmin",
        external_id=f"{user_id}-17403319622",
        sport="run",
        sport_type="RUNNING",
        name="Paris Running",
        start_time=at("2026-03-14T06:02:11Z"),
        utc_offset_seconds=3600,
        elapsed_time_s=3125,
        distance_m=10012.4,
        average_heartrate=148.0,
        device_name="Forerunner 965",
        raw=raw,
    ).sqlmodel_update(changes)


def strava_run(user_id: str = ATHLETE, **changes: Any) -> Activity:
    """The same run as Strava's API gives it once Garmin Connect synced it."""
    raw = {
        "id": 13876543210,
        "name": "Morning Run",
        "type": "Run",
        "sport_type": "Run",
        "start_date": "2026-03-14T06:02:11Z",
        "elapsed_time": 3125,
        "moving_time": 3080,
        "distance": 9968.0,
        "device_name": "Garmin Forerunner 965",
    }
    return Activity(
        user_id=user_id,
        connection_id=f"{user_id}-strava",
        provider="strava",
        external_id=f"{user_id}-13876543210",
        sport="run",
        sport_type="Run",
        name="Morning Run",
        start_time=at("2026-03-14T06:02:11Z"),
        timezone="Europe/Paris",
        elapsed_time_s=3125,
        moving_time_s=3080,
        distance_m=9968.0,
        device_name="Garmin Forerunner 965",
        raw=raw,
    ).sqlmodel_update(changes)


def bridge_run(user_id: str = ATHLETE, **changes: Any) -> Activity:
    """The same run again, written to Apple Health by Garmin Connect and exported by Health Auto Export."""
    raw = {
        "id": "9A0F3C52-7D1B-4F0E-8E55-3C1B2A7D9E10",
        "name": "Outdoor Run",
        "start": "2026-03-14 07:02:14 +0100",
        "end": "2026-03-14 07:54:16 +0100",
        "duration": 3122,
        "distance": {"qty": 9.87, "units": "km"},
    }
    return Activity(
        user_id=user_id,
        connection_id=f"{user_id}-bridge",
        provider="health_bridge",
        external_id=f"{user_id}-9A0F3C52-7D1B-4F0E-8E55-3C1B2A7D9E10",
        sport="run",
        sport_type="Outdoor Run",
        name="Outdoor Run",
        start_time=at("2026-03-14T06:02:14Z"),
        utc_offset_seconds=3600,
        elapsed_time_s=3122,
        distance_m=9870.0,
        raw=raw,
    ).sqlmodel_update(changes)


async def store(sessions: Sessions, activity: Activity) -> ActivityMerge | None:
    """Stores a new activity and reconciles it, in one transaction, as ingestion's storing does."""
    async with sessions() as session:
        session.add(activity)
        await session.flush()
        merge = await reconcile(session, activity, topic_prefix=TOPIC_PREFIX)
        await session.commit()
    return merge


async def change_at_provider(
    sessions: Sessions, activity_id: uuid.UUID, **values: Any
) -> ActivityMerge | None:
    """Applies a provider's change the way an upsert does (one statement, the row read back from it)
    and reconciles the row read back."""
    async with sessions() as session:
        table = Activity.__table__  # type: ignore[attr-defined]
        result = await session.exec(
            update(table)  # type: ignore[call-overload]
            .where(table.c.id == activity_id)
            .values(**values, revision=table.c.revision + 1)
            .returning(*table.c)
        )
        row = Activity.model_validate(dict(result.mappings().one()))
        merge = await reconcile(session, row, topic_prefix=TOPIC_PREFIX)
        await session.commit()
    return merge


async def delete_at_provider(sessions: Sessions, activity_id: uuid.UUID) -> list[Activity]:
    async with sessions() as session:
        activity = await session.get(Activity, activity_id)
        assert activity is not None
        promoted = await promote_duplicates(session, activity, topic_prefix=TOPIC_PREFIX)
        await session.exec(delete(Activity).where(col(Activity.id) == activity_id))  # type: ignore[call-overload]
        await session.commit()
    return promoted


async def separate(sessions: Sessions, user_id: str, merge_id: uuid.UUID) -> ActivityMerge:
    async with sessions() as session:
        merge = await undo_merge(
            session, user_id, merge_id, actor=Actor(type="athlete", id=user_id), topic_prefix=TOPIC_PREFIX
        )
        await session.commit()
    return merge


async def seen(sessions: Sessions, user_id: str = ATHLETE) -> list[str]:
    """The providers of the activities the athlete sees, by start time."""
    async with sessions() as session:
        rows = await session.exec(
            select(Activity)
            .where(Activity.user_id == user_id, col(Activity.duplicate_of).is_(None))
            .order_by(col(Activity.start_time), col(Activity.provider))
        )
        return [a.provider for a in rows.all()]


async def reread(sessions: Sessions, activity: Activity) -> Activity:
    async with sessions() as session:
        stored = await session.get(Activity, activity.id)
    assert stored is not None
    return stored


async def merges(sessions: Sessions) -> list[ActivityMerge]:
    async with sessions() as session:
        return list((await session.exec(select(ActivityMerge).order_by(col(ActivityMerge.merged_at)))).all())


async def merged_events(sessions: Sessions) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.event_type == INGESTION_ACTIVITY_MERGED.type)
            .order_by(col(OutboxMessage.seq))
        )
        messages = rows.all()
    assert all(m.topic.startswith(TOPIC_PREFIX) for m in messages)
    return [{**m.payload["data"], "key": m.key} for m in messages]


def event(kept: Activity, duplicate: Activity, *, undone: bool) -> dict[str, Any]:
    """What an `ingestion.activity.merged` event says about two copies (its ids and time left out)."""
    return {
        "kept_activity_id": str(kept.id),
        "kept_provider": kept.provider,
        "duplicate_activity_id": str(duplicate.id),
        "duplicate_provider": duplicate.provider,
        "undone": undone,
        "user_id": kept.user_id,
        "key": kept.user_id,
    }


def said(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in {"merge_id", "at"}} for e in events]


# Merging


async def test_a_garmin_run_and_its_strava_copy_are_shown_once_as_the_garmin_run(
    sessionmaker: Sessions,
) -> None:
    watch, copy = garmin_run(), strava_run()
    assert await store(sessionmaker, watch) is None

    merge = await store(sessionmaker, copy)

    assert merge is not None
    assert await seen(sessionmaker) == ["garmin"]
    assert (await reread(sessionmaker, copy)).duplicate_of == watch.id
    assert copy.duplicate_of == watch.id, "the row handed over says what the athlete now sees of it"
    [stored] = await merges(sessionmaker)
    assert (stored.user_id, stored.kept_id, stored.duplicate_id, stored.undone_at) == (
        ATHLETE,
        watch.id,
        copy.id,
        None,
    )
    assert stored.evidence["sport"] == "run"
    assert stored.evidence["start_difference_s"] == 0
    assert stored.evidence["overlap_ratio"] == 1.0
    assert [c["provider"] for c in stored.evidence["copies"]] == ["garmin", "strava"]
    events = await merged_events(sessionmaker)
    assert said(events) == [event(watch, copy, undone=False)]
    assert events[0]["merge_id"] == str(stored.id)


async def test_the_watchs_copy_is_shown_even_when_strava_sends_it_first(sessionmaker: Sessions) -> None:
    copy, watch = strava_run(), garmin_run()
    await store(sessionmaker, copy)
    assert await seen(sessionmaker) == ["strava"]

    await store(sessionmaker, watch)

    assert await seen(sessionmaker) == ["garmin"]
    assert (await reread(sessionmaker, copy)).duplicate_of == watch.id
    assert said(await merged_events(sessionmaker)) == [event(watch, copy, undone=False)]


async def test_a_third_copy_arriving_last_is_shown_and_the_others_point_at_it(sessionmaker: Sessions) -> None:
    copy, exported, watch = strava_run(), bridge_run(), garmin_run()
    await store(sessionmaker, copy)
    await store(sessionmaker, exported)
    assert await seen(sessionmaker) == ["strava"]

    await store(sessionmaker, watch)

    assert await seen(sessionmaker) == ["garmin"]
    assert (await reread(sessionmaker, copy)).duplicate_of == watch.id
    assert (await reread(sessionmaker, exported)).duplicate_of == watch.id
    assert [(m.kept_id, m.duplicate_id) for m in await merges(sessionmaker)] == [
        (copy.id, exported.id),
        (watch.id, copy.id),
    ]
    assert said(await merged_events(sessionmaker)) == [
        event(copy, exported, undone=False),
        event(watch, copy, undone=False),
    ]


async def test_a_bricks_ride_and_run_stay_two_workouts_each_merged_with_its_copy(
    sessionmaker: Sessions,
) -> None:
    ride = dict(sport="bike", sub_sport="road", start_time=at("2026-05-02T07:00:00Z"), elapsed_time_s=5400)
    run = dict(start_time=at("2026-05-02T08:31:40Z"), elapsed_time_s=2700, moving_time_s=2680)
    await store(
        sessionmaker, garmin_run(external_id="brick-bike", sport_type="CYCLING", distance_m=42105.0, **ride)
    )
    await store(sessionmaker, garmin_run(external_id="brick-run", distance_m=9810.0, **run))
    await store(
        sessionmaker, strava_run(external_id="brick-ride", sport_type="Ride", distance_m=42050.7, **ride)
    )
    await store(sessionmaker, strava_run(external_id="brick-run", distance_m=9790.2, **run))

    assert await seen(sessionmaker) == ["garmin", "garmin"]
    assert len(await merges(sessionmaker)) == 2


async def test_two_runs_the_same_morning_stay_two_runs(sessionmaker: Sessions) -> None:
    await store(sessionmaker, garmin_run(start_time=at("2026-03-14T06:00:00Z"), elapsed_time_s=2400))
    await store(sessionmaker, strava_run(start_time=at("2026-03-14T07:10:00Z"), elapsed_time_s=2400))

    assert await seen(sessionmaker) == ["garmin", "strava"]
    assert await merged_events(sessionmaker) == []


# The athlete separates them


async def test_the_athlete_separates_a_merge_and_it_is_never_made_again(sessionmaker: Sessions) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    merge = await store(sessionmaker, copy)
    assert merge is not None

    undone = await separate(sessionmaker, ATHLETE, merge.id)

    assert undone.undone_by == "athlete"
    assert undone.undone_at is not None
    assert await seen(sessionmaker) == ["garmin", "strava"]
    assert said(await merged_events(sessionmaker)) == [
        event(watch, copy, undone=False),
        event(watch, copy, undone=True),
    ]
    # Strava sends the activity again (renamed): still two workouts, nothing announced.
    assert await change_at_provider(sessionmaker, copy.id, name="Tempo with Léa") is None
    assert await change_at_provider(sessionmaker, watch.id, average_heartrate=149.0) is None
    assert await seen(sessionmaker) == ["garmin", "strava"]
    assert len(await merged_events(sessionmaker)) == 2


async def test_a_copy_arriving_after_a_separation_does_not_join_the_two_again(sessionmaker: Sessions) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    merge = await store(sessionmaker, copy)
    assert merge is not None
    await separate(sessionmaker, ATHLETE, merge.id)

    # The health bridge's copy matches both: it joins one of them, and never brings the other back.
    await store(sessionmaker, bridge_run())

    assert await seen(sessionmaker) == ["garmin", "strava"]


async def test_separating_a_copy_takes_the_copies_merged_into_it_along(sessionmaker: Sessions) -> None:
    copy, exported, watch = strava_run(), bridge_run(), garmin_run()
    for activity in (copy, exported, watch):
        await store(sessionmaker, activity)
    watch_and_copy = next(m for m in await merges(sessionmaker) if m.kept_id == watch.id)

    await separate(sessionmaker, ATHLETE, watch_and_copy.id)

    assert await seen(sessionmaker) == ["garmin", "strava"]
    assert (await reread(sessionmaker, exported)).duplicate_of == copy.id


async def test_separating_a_merge_twice_changes_nothing_more(sessionmaker: Sessions) -> None:
    await store(sessionmaker, garmin_run())
    merge = await store(sessionmaker, strava_run())
    assert merge is not None
    await separate(sessionmaker, ATHLETE, merge.id)

    again = await separate(sessionmaker, ATHLETE, merge.id)

    assert again.undone_by == "athlete"
    assert len(await merged_events(sessionmaker)) == 2


# Changes and deletions at the providers


async def test_a_change_that_breaks_the_match_separates_the_copies_until_it_is_reverted(
    sessionmaker: Sessions,
) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    merge = await store(sessionmaker, copy)
    assert merge is not None

    # The athlete makes the Strava activity a walk (Strava's webhook: updates {"type": "Walk"}).
    await change_at_provider(sessionmaker, copy.id, sport="walk", sport_type="Walk")

    assert await seen(sessionmaker) == ["garmin", "strava"]
    [separated] = await merges(sessionmaker)
    assert (separated.undone_by, separated.undone_at is not None) == ("provider_update", True)

    # Back to a run: the same pair merged again, under the same merge.
    again = await change_at_provider(sessionmaker, copy.id, sport="run", sport_type="Run")

    assert again is not None and again.id == merge.id
    assert await seen(sessionmaker) == ["garmin"]
    [remerged] = await merges(sessionmaker)
    assert (remerged.undone_at, remerged.undone_by) == (None, None)
    assert said(await merged_events(sessionmaker)) == [
        event(watch, copy, undone=False),
        event(watch, copy, undone=True),
        event(watch, copy, undone=False),
    ]


async def test_a_change_of_the_shown_copy_that_breaks_the_match_shows_the_other_again(
    sessionmaker: Sessions,
) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    await store(sessionmaker, copy)

    # Garmin corrects the activity's start by an hour (a time zone fixed on the watch).
    await change_at_provider(sessionmaker, watch.id, start_time=at("2026-03-14T05:02:11Z"))

    assert await seen(sessionmaker) == ["garmin", "strava"]
    assert (await merges(sessionmaker))[0].undone_by == "provider_update"


async def test_a_change_that_still_matches_changes_nothing(sessionmaker: Sessions) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    await store(sessionmaker, copy)

    assert await change_at_provider(sessionmaker, copy.id, name="Saturday long-ish run") is None

    assert await seen(sessionmaker) == ["garmin"]
    assert (await reread(sessionmaker, copy)).duplicate_of == watch.id
    assert len(await merged_events(sessionmaker)) == 1


async def test_deleting_the_shown_copy_shows_its_copy_in_its_place(sessionmaker: Sessions) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    await store(sessionmaker, copy)

    promoted = await delete_at_provider(sessionmaker, watch.id)

    assert [a.id for a in promoted] == [copy.id]
    assert await seen(sessionmaker) == ["strava"]
    assert said(await merged_events(sessionmaker)) == [
        event(watch, copy, undone=False),
        event(watch, copy, undone=True),
    ]


async def test_deleting_the_shown_copy_of_three_shows_the_best_left_once(sessionmaker: Sessions) -> None:
    watch, copy, exported = garmin_run(), strava_run(), bridge_run()
    for activity in (watch, copy, exported):
        await store(sessionmaker, activity)
    assert await seen(sessionmaker) == ["garmin"]

    promoted = await delete_at_provider(sessionmaker, watch.id)

    assert [a.provider for a in promoted] == ["strava"]
    assert await seen(sessionmaker) == ["strava"]
    assert (await reread(sessionmaker, exported)).duplicate_of == copy.id
    assert said(await merged_events(sessionmaker))[2:] == [
        event(watch, copy, undone=True),
        event(watch, exported, undone=True),
        event(copy, exported, undone=False),
    ]


async def test_deleting_a_copy_not_shown_leaves_the_workout_shown(sessionmaker: Sessions) -> None:
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    await store(sessionmaker, copy)

    assert await delete_at_provider(sessionmaker, copy.id) == []

    assert await seen(sessionmaker) == ["garmin"]
    assert await merges(sessionmaker) == []


# Athletes apart


async def test_athletes_running_together_keep_their_own_runs(sessionmaker: Sessions) -> None:
    await store(sessionmaker, garmin_run(ATHLETE))
    await store(sessionmaker, strava_run(PARTNER))

    assert await seen(sessionmaker, ATHLETE) == ["garmin"]
    assert await seen(sessionmaker, PARTNER) == ["strava"]
    assert await merges(sessionmaker) == []


async def test_an_athlete_cannot_separate_another_athletes_merge(sessionmaker: Sessions) -> None:
    await store(sessionmaker, garmin_run())
    merge = await store(sessionmaker, strava_run())
    assert merge is not None

    with pytest.raises(NotFound):
        await separate(sessionmaker, PARTNER, merge.id)

    assert await seen(sessionmaker) == ["garmin"]


async def test_two_workers_storing_both_copies_at_once_still_merge_them(sessionmaker: Sessions) -> None:
    watch, copy = garmin_run(), strava_run()
    async with sessionmaker() as first, sessionmaker() as second:
        first.add(watch)
        await first.flush()
        await reconcile(first, watch, topic_prefix=TOPIC_PREFIX)
        second.add(copy)
        await second.flush()
        # The second worker waits for the first to commit, then sees its copy.
        reconciling = asyncio.create_task(reconcile(second, copy, topic_prefix=TOPIC_PREFIX))
        await asyncio.sleep(0.2)
        assert not reconciling.done()
        await first.commit()
        merge = await reconciling
        await second.commit()

    assert merge is not None
    assert await seen(sessionmaker) == ["garmin"]


# Over HTTP


@pytest.fixture
async def api(
    fresh_database: str, sessionmaker: Sessions, infrastructure: Infrastructure
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeIdentity]]:
    """The merges' endpoints on the real database, verifying athletes' tokens signed by a fake identity.
    What they stage for Kafka is read from the outbox table."""
    identity = FakeIdentity()

    settings = ServiceSettings(
        database_url=fresh_database, kafka_topic_prefix=TOPIC_PREFIX, rate_limit_enabled=False
    )
    redis = Redis.from_url(infrastructure.redis_url)
    app = create_service_app(service="ingestion", settings=settings, routers=[router])
    app.state.runtime = SimpleNamespace(
        settings=settings,
        sessionmaker=sessionmaker,
        auth=AccessTokenVerifier(
            key_source=identity.public_keys,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            admin_audience=settings.auth_admin_audience,
            revocations=SessionRevocations(redis),
        ),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as client:
        yield client, identity
    await redis.aclose()


async def test_the_lineage_shows_every_copy_and_why_they_were_merged(
    api: tuple[httpx.AsyncClient, FakeIdentity], sessionmaker: Sessions
) -> None:
    client, identity = api
    copy, exported, watch = strava_run(), bridge_run(), garmin_run()
    for activity in (copy, exported, watch):
        await store(sessionmaker, activity)

    response = await client.get(f"/api/activities/{exported.id}/lineage", headers=identity.bearer(ATHLETE))

    assert response.status_code == 200, response.text
    lineage = response.json()
    assert lineage["activity_id"] == str(exported.id)
    assert lineage["shown_activity_id"] == str(watch.id)
    assert [(c["provider"], c["shown"]) for c in lineage["copies"]] == [
        ("garmin", True),
        ("strava", False),
        ("health_bridge", False),
    ]
    assert [(m["kept_provider"], m["duplicate_provider"], m["undone_at"]) for m in lineage["merges"]] == [
        ("strava", "health_bridge", None),
        ("garmin", "strava", None),
    ]
    bridge_evidence = lineage["merges"][0]["evidence"]
    assert bridge_evidence["start_difference_s"] == 3.0
    assert bridge_evidence["distance_difference_ratio"] == pytest.approx(0.0098, abs=1e-4)


async def test_the_athlete_separates_a_merge_over_http(
    api: tuple[httpx.AsyncClient, FakeIdentity], sessionmaker: Sessions
) -> None:
    client, identity = api
    watch, copy = garmin_run(), strava_run()
    await store(sessionmaker, watch)
    merge = await store(sessionmaker, copy)
    assert merge is not None

    response = await client.post(f"/api/activities/merges/{merge.id}/undo", headers=identity.bearer(ATHLETE))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["merge_id"], body["kept_provider"], body["duplicate_provider"], body["undone_by"]) == (
        str(merge.id),
        "garmin",
        "strava",
        "athlete",
    )
    assert await seen(sessionmaker) == ["garmin", "strava"]
    assert said(await merged_events(sessionmaker))[-1] == event(watch, copy, undone=True)
    lineage = (
        await client.get(f"/api/activities/{copy.id}/lineage", headers=identity.bearer(ATHLETE))
    ).json()
    assert [c["provider"] for c in lineage["copies"]] == ["strava"]
    assert lineage["merges"][0]["undone_by"] == "athlete"


async def test_another_athletes_activity_and_merge_are_not_found(
    api: tuple[httpx.AsyncClient, FakeIdentity], sessionmaker: Sessions
) -> None:
    client, identity = api
    watch = garmin_run()
    await store(sessionmaker, watch)
    merge = await store(sessionmaker, strava_run())
    assert merge is not None

    lineage = await client.get(f"/api/activities/{watch.id}/lineage", headers=identity.bearer(PARTNER))
    undo = await client.post(f"/api/activities/merges/{merge.id}/undo", headers=identity.bearer(PARTNER))
    unknown = await client.post(
        f"/api/activities/merges/{uuid.uuid4()}/undo", headers=identity.bearer(ATHLETE)
    )

    assert (lineage.status_code, lineage.json()["error"]["code"]) == (404, "activity_not_found")
    assert (undo.status_code, undo.json()["error"]["code"]) == (404, "merge_not_found")
    assert unknown.status_code == 404
    assert await seen(sessionmaker) == ["garmin"]


async def test_the_lineage_needs_the_athletes_token(api: tuple[httpx.AsyncClient, FakeIdentity]) -> None:
    client, _ = api

    response = await client.get(f"/api/activities/{uuid.uuid4()}/lineage")

    assert response.status_code == 401
