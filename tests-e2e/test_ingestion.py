"""An athlete's activities through the whole system: signing in with Strava links the account, which is
backfilled from the (fake) Strava API through the connections service's tokens; a Strava webhook
brings a new ride within seconds and announces it on Kafka; the sync shows in the connection's
history; withdrawing Relay's access at Strava erases the athlete's Strava activities, while a forged
deauthorization (Strava signs nothing) changes nothing."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from relay_devstack import Stack
from relay_devstack.stack import FAKE_STRAVA_CLIENT_ID, FAKE_STRAVA_CLIENT_SECRET
from relay_testing.fakes.strava import FakeStravaClient

from .conftest import Databases
from .test_connections import bearer, connections_of
from .test_identity import eventually, sign_in


def strava_of(stack: Stack) -> FakeStravaClient:
    return FakeStravaClient(
        stack.config.fake_strava_url, client_id=FAKE_STRAVA_CLIENT_ID, client_secret=FAKE_STRAVA_CLIENT_SECRET
    )


async def strava_activities(gateway: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    answer = await gateway.get("/api/strava/activities", params=params, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def webhook(athlete_id: int, object_id: int, aspect_type: str = "create", **extra: Any) -> dict[str, Any]:
    return {
        "object_type": "activity",
        "object_id": object_id,
        "aspect_type": aspect_type,
        "owner_id": athlete_id,
        "subscription_id": 1,
        "event_time": int(time.time()),
        "updates": {},
        **extra,
    }


def deauthorization(athlete_id: int) -> dict[str, Any]:
    """Strava's event for an athlete who withdrew Relay's access: unsigned, anyone can post it."""
    return webhook(athlete_id, athlete_id, "update", object_type="athlete", updates={"authorized": "false"})


async def test_signing_in_backfills_strava_and_a_webhook_brings_the_next_ride(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    strava = strava_of(stack)
    await strava.add_history(athlete_id, 60, end=datetime.now(UTC) - timedelta(hours=2), seed=11)
    token = (await sign_in(gateway, stack, athlete_id, firstname="Iris", lastname="Backfill"))["token"]

    async def backfilled() -> dict[str, Any] | None:
        page = await strava_activities(gateway, token, limit=200)
        return page if page["pagination"]["total"] == 60 else None

    page = await eventually(backfilled)
    assert page, "the Strava history was not backfilled after signing in"
    first = page["activities"][0]
    assert set(first) >= {"id", "strava_id", "sport_type", "name", "start_date", "distance", "moving_time"}
    [connection] = await connections_of(gateway, token)
    status = await gateway.get(
        f"/api/providers/connections/{connection['id']}/sync-status", headers=bearer(token)
    )

    async def history_recorded() -> bool:
        answer = await gateway.get(
            f"/api/providers/connections/{connection['id']}/sync-status", headers=bearer(token)
        )
        latest = answer.json().get("latest") or {}
        return latest.get("sync_status") == "success" and latest.get("activities_fetched") == 60

    assert await eventually(history_recorded), status.text

    ride = await strava.put_activity(
        athlete_id,
        {
            "sport_type": "Ride",
            "name": "Col de la Forclaz",
            "start_date": (datetime.now(UTC) - timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    sent = await gateway.post("/api/webhook/strava", json=webhook(athlete_id, ride["id"]))
    assert sent.status_code == 200 and sent.json() == {"received": True}

    async def ride_arrived() -> bool:
        names = [a["name"] for a in (await strava_activities(gateway, token, limit=5))["activities"]]
        return "Col de la Forclaz" in names

    assert await eventually(ride_arrived, timeout=30), "the webhook's ride never appeared"
    stats = await gateway.get("/api/strava/stats", params={"period": "all"}, headers=bearer(token))
    assert stats.status_code == 200 and stats.json()["stats"]["totals"]["activities"] == 61


async def test_withdrawing_access_at_strava_erases_the_athletes_strava_activities(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    strava = strava_of(stack)
    await strava.add_history(athlete_id, 12, end=datetime.now(UTC) - timedelta(hours=2), seed=12)
    signed_in = await sign_in(gateway, stack, athlete_id)
    token, user_id = signed_in["token"], signed_in["user"]["id"]

    async def backfilled() -> bool:
        return (await strava_activities(gateway, token))["pagination"]["total"] == 12

    assert await eventually(backfilled)
    await strava.revoke_grant(athlete_id)  # the athlete removes Relay in their Strava settings
    assert (await gateway.post("/api/webhook/strava", json=deauthorization(athlete_id))).status_code == 200

    async def erased() -> bool:
        count = await databases.fetchval(
            "ingestion", "SELECT count(*) FROM activities WHERE user_id = $1", user_id
        )
        return count == 0

    assert await eventually(erased), "the athlete's Strava activities were kept after deauthorization"


async def test_a_forged_deauthorization_of_an_athlete_whose_token_still_works_changes_nothing(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    strava = strava_of(stack)
    await strava.add_history(athlete_id, 7, end=datetime.now(UTC) - timedelta(hours=2), seed=13)
    token = (await sign_in(gateway, stack, athlete_id))["token"]

    async def backfilled() -> bool:
        return (await strava_activities(gateway, token))["pagination"]["total"] == 7

    assert await eventually(backfilled)

    # Anyone who knows the athlete's Strava id can post this: Strava still honours the athlete's token.
    assert (await gateway.post("/api/webhook/strava", json=deauthorization(athlete_id))).status_code == 200

    async def considered() -> list[Any] | None:
        rows = await databases.fetch(
            "connections",
            "SELECT notifications_received, deauthorized_at, deauthorization_unconfirmed_at "
            "FROM provider_account_activity WHERE provider = 'strava' AND provider_user_id = $1",
            str(athlete_id),
        )
        return list(rows[0]) if rows and rows[0]["notifications_received"] >= 1 else None

    assert await eventually(considered) == [1, None, None], "connections never considered the event"
    [connection] = await connections_of(gateway, token)
    assert (connection["status"], connection["is_active"]) == ("active", True)
    assert [g.athlete_id for g in await strava.grants() if g.athlete_id == athlete_id] == [athlete_id]
    assert (await strava_activities(gateway, token))["pagination"]["total"] == 7
    ride = await strava.put_activity(athlete_id, {"sport_type": "Ride", "name": "Still linked"})
    assert (
        await gateway.post("/api/webhook/strava", json=webhook(athlete_id, ride["id"]))
    ).status_code == 200

    async def ride_arrived() -> bool:
        return (await strava_activities(gateway, token))["pagination"]["total"] == 8

    assert await eventually(ride_arrived, timeout=30), "the link stopped working after a forged event"
