"""The worker reads what Strava's notifications point to, and backfills a linked account, against the
fake Strava API: activities upserted in Relay's model and announced, edits and deletions applied,
backfills resumable and reported, the application's budget respected, failures retried."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from ingestion.models import ProviderNotification, SyncRun
from relay_testing.fakes.providers.api.garmin import garmin_activity

from .reading import Reading, reading

__all__ = ["reading"]

pytestmark = pytest.mark.integration

ATHLETE = 26541009
BACKFILL_DAYS = 365  # the test settings' Strava backfill


async def test_a_new_activity_is_fetched_stored_and_announced(reading: Reading) -> None:
    user_id = await reading.link("strava", ATHLETE)
    await reading.work()  # the link's (empty) backfill
    ride = await reading.strava.put_activity(
        ATHLETE, {"sport_type": "VirtualRide", "name": "Zwift - Watopia", "trainer": True}
    )

    await reading.notify("strava", ATHLETE, ride["id"])
    await reading.work()

    [stored] = await reading.activities(user_id)
    assert (stored.provider, stored.external_id, stored.sport, stored.sub_sport) == (
        "strava",
        str(ride["id"]),
        "bike",
        "virtual",
    )
    assert stored.name == "Zwift - Watopia"
    assert stored.distance_m == pytest.approx(ride["distance"])
    assert stored.average_power_w == pytest.approx(ride["average_watts"])
    [event] = await reading.events("ingestion.activity.upserted")
    assert event["subject"] == user_id
    assert (event["data"]["external_id"], event["data"]["created"]) == (str(ride["id"]), True)


async def test_an_edit_at_strava_updates_the_activity_and_a_deletion_removes_it(reading: Reading) -> None:
    user_id = await reading.link("strava", ATHLETE)
    run = await reading.strava.put_activity(ATHLETE, {"sport_type": "Run", "name": "Morning Run"})
    await reading.notify("strava", ATHLETE, run["id"])
    await reading.work()

    await reading.strava.put_activity(ATHLETE, {"id": run["id"], "name": "Tempo 3x10'"})
    await reading.notify("strava", ATHLETE, run["id"], "update")
    await reading.work()
    [edited] = await reading.activities(user_id)
    assert (edited.name, edited.revision) == ("Tempo 3x10'", 2)

    await reading.strava.remove_activity(run["id"])
    await reading.notify("strava", ATHLETE, run["id"], "delete")
    await reading.work()

    assert await reading.activities(user_id) == []
    [deleted] = await reading.events("ingestion.activity.deleted")
    assert deleted["data"]["reason"] == "deleted_at_provider"


async def test_the_same_notification_twice_changes_nothing_the_second_time(reading: Reading) -> None:
    user_id = await reading.link("strava", ATHLETE)
    swim = await reading.strava.put_activity(ATHLETE, {"sport_type": "Swim"})
    await reading.notify("strava", ATHLETE, swim["id"])
    await reading.notify("strava", ATHLETE, swim["id"], "update")
    await reading.work()

    assert len(await reading.activities(user_id)) == 1
    assert len(await reading.events("ingestion.activity.upserted")) == 1


async def test_a_linked_account_is_backfilled_page_by_page_with_its_progress_reported(
    reading: Reading,
) -> None:
    await reading.strava.add_history(ATHLETE, 450, end=datetime.now(UTC) - timedelta(hours=1), seed=3)
    user_id = await reading.link("strava", ATHLETE)

    await reading.work()

    stored = await reading.activities(user_id)
    in_window = [
        a
        for a in await reading.strava.activities(ATHLETE)
        if _started(a) > datetime.now(UTC) - timedelta(days=BACKFILL_DAYS)
    ]
    assert len(stored) == len(in_window) > 0
    [run] = await reading.sync_runs(f"conn-{ATHLETE}")
    assert (run.status, run.trigger, run.activities_created) == ("success", "link", len(in_window))
    started = await reading.events("ingestion.sync.started")
    progressed = await reading.events("ingestion.sync.progressed")
    [completed] = await reading.events("ingestion.sync.completed")
    assert started[0]["data"]["trigger"] == "link"
    percents = [event["data"]["percent"] for event in progressed]
    assert percents == sorted(percents)
    assert completed["data"]["activities_created"] == len(in_window)
    assert [reading.syncs(outcome) for outcome in ("started", "completed", "failed")] == [1, 1, 0]
    imported = reading.registry.get_sample_value(
        "relay_ingestion_sync_activities_total", {"provider": "strava", "trigger": "link"}
    )
    assert imported == run.activities_fetched


async def test_one_round_of_backfill_reads_the_pages_in_turn_each_read_while_the_last_is_stored(
    reading: Reading,
) -> None:
    await reading.strava.add_history(ATHLETE, 900, end=datetime.now(UTC) - timedelta(hours=1), seed=4)
    user_id = await reading.link("strava", ATHLETE)

    assert await reading.worker.advance_sync() == 1

    [run] = await reading.sync_runs(f"conn-{ATHLETE}")
    pages = [int(r.query["page"]) for r in await reading.strava.received("/api/v3/athlete/activities")]
    assert run.status == "success"
    assert pages == list(range(1, run.pages + 1)) and run.pages >= 3
    assert len(await reading.activities(user_id)) == run.activities_created > 400


async def test_a_backfill_interrupted_by_a_crash_resumes_after_its_last_stored_page(reading: Reading) -> None:
    await reading.strava.add_history(ATHLETE, 700, end=datetime.now(UTC) - timedelta(hours=1), seed=5)
    user_id = await reading.link("strava", ATHLETE)
    backfilling = asyncio.create_task(reading.worker.advance_sync())
    for _ in range(1000):
        if await reading.activities(user_id):
            break
        await asyncio.sleep(0.01)
    backfilling.cancel()  # the worker dies once a page is stored
    first_page = len(await reading.activities(user_id))
    async with reading.sessionmaker() as session, session.begin():
        # Its lease on the run ends.
        await session.exec(update(SyncRun).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))  # type: ignore[call-overload]

    await reading.work()

    [run] = await reading.sync_runs(f"conn-{ATHLETE}")
    stored = await reading.activities(user_id)
    assert run.status == "success"
    assert 0 < first_page < len(stored) == run.activities_created
    assert len({a.external_id for a in stored}) == len(stored)


@pytest.mark.parametrize("reading", ["read:3/15m"], indirect=True)
async def test_backfill_stops_at_the_budget_and_leaves_live_notifications_their_share(
    reading: Reading,
) -> None:
    await reading.strava.add_history(ATHLETE, 1200, end=datetime.now(UTC) - timedelta(hours=1), seed=7)
    user_id = await reading.link("strava", ATHLETE)

    await reading.work()
    served_to_backfill = len(await reading.strava.received("/api/v3/athlete/activities"))
    run = (await reading.sync_runs(f"conn-{ATHLETE}"))[0]
    ride = await reading.strava.put_activity(ATHLETE, {"sport_type": "Ride"})
    await reading.notify("strava", ATHLETE, ride["id"])
    await reading.work()

    assert served_to_backfill == 2  # 80% of 3: the rest of the window is for live notifications
    assert run.status == "running" and run.next_attempt_at.minute % 15 == 0
    assert str(ride["id"]) in {a.external_id for a in await reading.activities(user_id)}


async def test_a_429_from_strava_puts_the_notification_back_until_strava_says(reading: Reading) -> None:
    await reading.link("strava", ATHLETE)
    await reading.work()
    run = await reading.strava.put_activity(ATHLETE, {"sport_type": "Run"})
    await reading.strava.fail_next("rate_limited", endpoint="api")
    notification_id = await reading.notify("strava", ATHLETE, run["id"])

    await reading.work()

    waiting = await reading.notification(notification_id)
    assert waiting.status == "pending" and waiting.next_attempt_at > datetime.now(UTC)
    assert waiting.attempts == 0


async def test_a_strava_outage_is_retried_then_the_activity_arrives(reading: Reading) -> None:
    user_id = await reading.link("strava", ATHLETE)
    await reading.work()
    run = await reading.strava.put_activity(ATHLETE, {"sport_type": "Run"})
    await reading.strava.fail_next("server_error", endpoint="api")
    notification_id = await reading.notify("strava", ATHLETE, run["id"])
    await reading.work()
    assert (await reading.notification(notification_id)).status == "pending"
    async with reading.sessionmaker() as session, session.begin():
        await session.exec(update(ProviderNotification).values(next_attempt_at=datetime.now(UTC)))  # type: ignore[call-overload]

    await reading.work()

    assert (await reading.notification(notification_id)).status == "processed"
    assert len(await reading.activities(user_id)) == 1


async def test_a_notification_about_an_unlinked_account_is_ignored(reading: Reading) -> None:
    notification_id = await reading.notify("strava", 999, 1234)

    await reading.work()

    ignored = await reading.notification(notification_id)
    assert ignored.status == "ignored"
    assert reading.handout.handed == []


async def test_a_burst_about_unknown_accounts_is_settled_in_one_round_and_a_linked_ride_still_read(
    reading: Reading,
) -> None:
    user_id = await reading.link("strava", ATHLETE)
    await reading.work()  # the link's backfill
    strangers = [await reading.notify("strava", 5000 + i, 70000 + i) for i in range(300)]
    deauthorized = await reading.notify(
        "strava", ATHLETE, ATHLETE, "update", payload={"authorized": "false"}, object_type="athlete"
    )
    ride = await reading.strava.put_activity(ATHLETE, {"sport_type": "Ride"})
    linked = await reading.notify("strava", ATHLETE, ride["id"])

    done = await reading.worker.run_once()

    assert done == 302
    settled = [await reading.notification(i) for i in (*strangers, deauthorized, linked)]
    assert {(n.status, n.last_error) for n in settled[:300]} == {
        ("ignored", "no active link to this account")
    }
    assert (settled[300].status, settled[300].last_error) == ("ignored", None)
    assert settled[301].status == "processed"
    assert [a.external_id for a in await reading.activities(user_id)] == [str(ride["id"])]


async def test_a_connection_needing_reauthorization_stops_its_backfill_as_failed(reading: Reading) -> None:
    await reading.strava.add_history(ATHLETE, 10, end=datetime.now(UTC) - timedelta(hours=1))
    reading.handout.refusals[str(ATHLETE)] = (409, "reauth_required")
    await reading.link("strava", ATHLETE)

    await reading.work()

    [run] = await reading.sync_runs(f"conn-{ATHLETE}")
    [failed] = await reading.events("ingestion.sync.failed")
    assert run.status == "failed"
    assert failed["data"]["reason"] == "reauth_required"
    assert [reading.syncs(outcome) for outcome in ("started", "completed", "failed")] == [1, 0, 1]


def _started(activity: dict) -> datetime:  # type: ignore[type-arg]
    return datetime.fromisoformat(activity["start_date"].replace("Z", "+00:00"))


async def test_a_garmin_push_is_stored_without_asking_for_a_token(reading: Reading) -> None:
    user_id = await reading.link("garmin", "garmin-user-7f3a")
    await reading.work()  # the link's backfill
    handed_before = len(reading.handout.handed)
    pushed = garmin_activity("garmin-user-7f3a", activityType="LAP_SWIMMING", distanceInMeters=2500.0)

    await reading.notify("garmin", "garmin-user-7f3a", pushed["summaryId"], payload=pushed)
    await reading.work()

    [swim] = await reading.activities(user_id)
    assert (swim.provider, swim.sport, swim.sub_sport, swim.distance_m) == ("garmin", "swim", "pool", 2500.0)
    assert len(reading.handout.handed) == handed_before


async def test_a_bridge_upload_becomes_the_athletes_activities_and_sending_it_again_changes_nothing(
    reading: Reading,
) -> None:
    user_id = "usr_bridge_41c2"
    workouts = [
        {
            "id": "6A1F0E7C-3B55-4C1D-9E63-2F0B5D8C7A11",
            "name": "Outdoor Run",
            "start": "2026-11-18 07:02:11 +0100",
            "end": "2026-11-18 07:48:40 +0100",
            "duration": 2789,
            "distance": {"qty": 8.42, "units": "km"},
            "activeEnergyBurned": {"qty": 612.5, "units": "kcal"},
            "avgHeartRate": {"qty": 151, "units": "bpm"},
            "maxHeartRate": {"qty": 176, "units": "bpm"},
        }
    ]
    await reading.notify(
        "health_bridge", user_id, "upload-1", payload={"workouts": workouts}, object_type="upload"
    )
    # The next upload's period overlaps the first one's: the run again, and the evening's swim.
    swim = {
        "id": "0C7D2E91-58A4-4F0B-A3C6-91E2B7D4F508",
        "name": "Pool Swim",
        "start": "2026-11-18 19:30:00 +0100",
        "end": "2026-11-18 20:10:00 +0100",
        "duration": 2400,
        "distance": {"qty": 2000, "units": "m"},
    }
    await reading.notify(
        "health_bridge", user_id, "upload-2", payload={"workouts": [*workouts, swim]}, object_type="upload"
    )

    await reading.work()

    run, pool = await reading.activities(user_id)
    assert (run.provider, run.sport, run.distance_m, run.utc_offset_seconds) == (
        "health_bridge",
        "run",
        8420.0,
        3600,
    )
    assert (pool.sport, pool.distance_m) == ("swim", 2000.0)
    assert len(await reading.events("ingestion.activity.upserted")) == 2
