"""Synchronisations as the athlete sees them: asking for one, its history and status fed by ingestion's
events, the summary of every connection, and the health bridge appearing once its API key is used."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connections.refresh import refresh_expiring_tokens
from relay_contracts.catalog import (
    INGESTION_API_KEY_USED,
    INGESTION_SYNC_COMPLETED,
    INGESTION_SYNC_FAILED,
    INGESTION_SYNC_PROGRESSED,
    INGESTION_SYNC_STARTED,
)
from relay_contracts.events.ingestion import (
    ApiKeyUsed,
    SyncCompleted,
    SyncFailed,
    SyncProgressed,
    SyncStarted,
)

from .conftest import ConnectionsUnderTest

pytestmark = pytest.mark.integration

LEA = "usr_lea_5d20f3"
API = "/api/providers"


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Ingestion:
    """What ingestion reports about one connection's synchronisations."""

    def __init__(self, service: ConnectionsUnderTest, connection: dict[str, Any]) -> None:
        self.service, self.connection = service, connection

    def _ids(self, sync_id: str) -> dict[str, Any]:
        return {
            "sync_id": sync_id,
            "connection_id": self.connection["id"],
            "user_id": LEA,
            "provider": self.connection["provider"],
        }

    async def started(self, sync_id: str, at: datetime, trigger: str = "manual") -> None:
        event = SyncStarted(**self._ids(sync_id), trigger=trigger, started_at=at)
        await self.service.deliver(INGESTION_SYNC_STARTED.envelope(event, subject=LEA))

    async def progressed(self, sync_id: str, fetched: int, percent: float | None, at: datetime) -> None:
        event = SyncProgressed(**self._ids(sync_id), activities_fetched=fetched, percent=percent, at=at)
        await self.service.deliver(INGESTION_SYNC_PROGRESSED.envelope(event, subject=LEA))

    async def completed(self, sync_id: str, started: datetime, completed: datetime, **outcome: Any) -> None:
        event = SyncCompleted(**self._ids(sync_id), started_at=started, completed_at=completed, **outcome)
        await self.service.deliver(INGESTION_SYNC_COMPLETED.envelope(event, subject=LEA))

    async def failed(self, sync_id: str, started: datetime, failed: datetime, **outcome: Any) -> None:
        event = SyncFailed(**self._ids(sync_id), started_at=started, failed_at=failed, **outcome)
        await self.service.deliver(INGESTION_SYNC_FAILED.envelope(event, subject=LEA))


async def request_sync(service: ConnectionsUnderTest, connection_id: str) -> Any:
    return await service.client.post(f"{API}/connections/{connection_id}/sync", headers=service.athlete(LEA))


async def history(service: ConnectionsUnderTest, connection_id: str, **params: Any) -> Any:
    return await service.client.get(
        f"{API}/connections/{connection_id}/sync-history", params=params, headers=service.athlete(LEA)
    )


async def test_a_sync_request_is_accepted_and_published_for_ingestion(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = (await connections_service.providers.queue_user("garmin")).user_id
    connection = await connections_service.link(LEA, "garmin")

    accepted = await request_sync(connections_service, connection["id"])

    assert accepted.status_code == 202
    assert accepted.json() | {"sync_id": None} == {
        "success": True,
        "sync_id": None,
        "sync_status": "requested",
    }
    [requested] = await connections_service.staged_events("connections.sync.requested")
    assert requested["subject"] == LEA
    data = requested["data"]
    assert data["sync_id"] == accepted.json()["sync_id"] and data["connection_id"] == connection["id"]
    assert (data["user_id"], data["provider"], data["provider_user_id"]) == (LEA, "garmin", account)
    assert data["since"] is None and data["actor"] == {"type": "athlete", "id": LEA}


async def test_a_second_sync_waits_for_the_first_and_the_next_starts_from_the_last(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await connections_service.link(LEA, "strava")
    first = (await request_sync(connections_service, connection["id"])).json()["sync_id"]

    busy = await request_sync(connections_service, connection["id"])

    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "sync_in_progress"
    assert busy.json()["error"]["details"] == {"sync_id": first, "status": "requested"}
    now = datetime.now(UTC)
    await Ingestion(connections_service, connection).completed(first, now, now, status="success")
    assert (await request_sync(connections_service, connection["id"])).status_code == 202
    requested = await connections_service.staged_events("connections.sync.requested")
    assert [when(e["data"]["since"]) for e in requested] == [None, now]


async def test_a_paused_or_broken_connection_is_not_synchronised(
    connections_service: ConnectionsUnderTest,
) -> None:
    paused = await connections_service.link(LEA, "wahoo")
    broken = await connections_service.link(LEA, "polar")
    await connections_service.client.patch(
        f"{API}/connections/{paused['id']}/toggle", headers=connections_service.athlete(LEA)
    )
    await connections_service.rows(
        "UPDATE provider_connections SET status = 'reauth_required' WHERE id = $1", uuid.UUID(broken["id"])
    )

    refused = [await request_sync(connections_service, c["id"]) for c in (paused, broken)]

    assert [r.status_code for r in refused] == [409, 409]
    assert [r.json()["error"]["code"] for r in refused] == ["connection_not_active"] * 2
    assert [r.json()["error"]["details"] for r in refused] == [
        {"status": "active", "is_active": False},
        {"status": "reauth_required", "is_active": True},
    ]
    assert await connections_service.staged_events("connections.sync.requested") == []


async def test_the_sync_history_follows_ingestion_from_start_to_completion(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await connections_service.link(LEA, "oura")
    sync_id = (await request_sync(connections_service, connection["id"])).json()["sync_id"]
    ingestion = Ingestion(connections_service, connection)
    started = datetime.now(UTC)
    completed = started + timedelta(seconds=42)

    await ingestion.started(sync_id, started)
    await ingestion.progressed(sync_id, 20, 40.0, started + timedelta(seconds=10))
    running = (await history(connections_service, connection["id"])).json()["history"]
    await ingestion.completed(
        sync_id,
        started,
        completed,
        status="success",
        activities_fetched=50,
        activities_created=30,
        activities_updated=15,
        activities_skipped=5,
    )
    done = await history(connections_service, connection["id"])

    assert [(r["sync_status"], r["activities_fetched"], r["percent"]) for r in running] == [
        ("running", 20, 40.0)
    ]
    assert done.status_code == 200
    assert (done.json()["connection_id"], done.json()["provider"]) == (connection["id"], "oura")
    [record] = done.json()["history"]
    assert (record["id"], record["trigger"], record["sync_status"]) == (sync_id, "manual", "success")
    assert (when(record["sync_started_at"]), when(record["sync_completed_at"])) == (started, completed)
    counts = [record[f"activities_{kind}"] for kind in ("fetched", "created", "updated", "skipped")]
    assert counts == [50, 30, 15, 5]
    assert record["percent"] == 100.0 and record["error_message"] is None
    status = await connections_service.client.get(
        f"{API}/connections/{connection['id']}/sync-status", headers=connections_service.athlete(LEA)
    )
    assert status.json() == {
        "connection_id": connection["id"],
        "provider": "oura",
        "status": "active",
        "is_active": True,
        "last_sync_at": status.json()["last_sync_at"],
        "last_sync_error": None,
        "latest": record,
    }
    assert when(status.json()["last_sync_at"]) == completed


async def test_a_failed_sync_keeps_its_error_and_leaves_the_last_successful_sync(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await connections_service.link(LEA, "fitbit")
    ingestion = Ingestion(connections_service, connection)
    ok_at = datetime.now(UTC) - timedelta(hours=2)
    await ingestion.completed(str(uuid.uuid4()), ok_at, ok_at, status="success", activities_fetched=3)
    sync_id = (await request_sync(connections_service, connection["id"])).json()["sync_id"]
    now = datetime.now(UTC)

    await ingestion.completed(
        sync_id, now, now, status="failed", activities_fetched=4, error="Fitbit answered 503"
    )

    status = await connections_service.client.get(
        f"{API}/connections/{connection['id']}/sync-status", headers=connections_service.athlete(LEA)
    )
    latest = status.json()["latest"]
    assert (latest["id"], latest["sync_status"], latest["error_message"]) == (
        sync_id,
        "failed",
        "Fitbit answered 503",
    )
    assert latest["activities_fetched"] == 4
    assert status.json()["last_sync_error"] == "Fitbit answered 503"
    assert when(status.json()["last_sync_at"]) == ok_at


async def test_a_sync_that_stops_midway_is_failed_with_what_it_stored_and_why(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await connections_service.link(LEA, "polar")
    ingestion = Ingestion(connections_service, connection)
    sync_id = (await request_sync(connections_service, connection["id"])).json()["sync_id"]
    started = datetime.now(UTC)
    await ingestion.started(sync_id, started)

    await ingestion.failed(
        sync_id,
        started,
        started + timedelta(minutes=3),
        activities_fetched=40,
        activities_created=38,
        error="Polar refused the athlete's token",
        reason="reauth_required",
    )

    latest = (
        await connections_service.client.get(
            f"{API}/connections/{connection['id']}/sync-status", headers=connections_service.athlete(LEA)
        )
    ).json()["latest"]
    assert (latest["sync_status"], latest["activities_fetched"], latest["error_message"]) == (
        "failed",
        40,
        "Polar refused the athlete's token",
    )
    assert (await request_sync(connections_service, connection["id"])).status_code == 202


async def test_a_sync_ingestion_started_itself_appears_in_the_history(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await connections_service.link(LEA, "whoop")
    ingestion = Ingestion(connections_service, connection)
    sync_id, started = str(uuid.uuid4()), datetime.now(UTC)

    await ingestion.started(sync_id, started, trigger="webhook")
    during = (await history(connections_service, connection["id"])).json()["history"]
    await ingestion.completed(
        sync_id, started, started + timedelta(seconds=3), status="partial", activities_fetched=2
    )

    after = (await history(connections_service, connection["id"])).json()["history"]
    assert [(r["id"], r["trigger"], r["sync_status"]) for r in during] == [(sync_id, "webhook", "running")]
    assert [(r["id"], r["trigger"], r["sync_status"]) for r in after] == [(sync_id, "webhook", "partial")]
    assert when(after[0]["requested_at"]) == started
    assert await connections_service.staged_events("connections.sync.requested") == []


async def test_the_sync_history_is_newest_first_and_limited(
    connections_service: ConnectionsUnderTest,
) -> None:
    connection = await connections_service.link(LEA, "coros")
    ingestion = Ingestion(connections_service, connection)
    synced = []
    for _ in range(3):
        sync_id = (await request_sync(connections_service, connection["id"])).json()["sync_id"]
        now = datetime.now(UTC)
        await ingestion.completed(sync_id, now, now, status="success")
        synced.append(sync_id)

    everything = (await history(connections_service, connection["id"])).json()["history"]
    latest_two = (await history(connections_service, connection["id"], limit=2)).json()["history"]

    assert [r["id"] for r in everything] == synced[::-1]
    assert [r["id"] for r in latest_two] == synced[::-1][:2]
    for limit in (0, 101, "ten"):
        refused = await history(connections_service, connection["id"], limit=limit)
        assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "limit"


async def test_the_summary_counts_connections_and_lists_those_needing_attention(
    connections_service: ConnectionsUnderTest,
) -> None:
    strava = await connections_service.link(LEA, "strava")
    garmin = await connections_service.link(LEA, "garmin")
    oura = await connections_service.link(LEA, "oura")
    await connections_service.link("usr_someone_else", "polar")
    await connections_service.client.patch(
        f"{API}/connections/{oura['id']}/toggle", headers=connections_service.athlete(LEA)
    )
    await connections_service.rows(
        "UPDATE provider_connections SET status = 'reauth_required', status_reason = 'token_expired'"
        " WHERE id = $1",
        uuid.UUID(garmin["id"]),
    )
    synced_at = datetime.now(UTC)
    await Ingestion(connections_service, strava).completed(
        str(uuid.uuid4()), synced_at, synced_at, status="success"
    )

    summary = await connections_service.client.get(f"{API}/summary", headers=connections_service.athlete(LEA))

    assert summary.status_code == 200
    assert summary.json() == {
        "total_connections": 3,
        "active_connections": 1,
        "paused_connections": 1,
        "needs_attention": [
            {
                "connection_id": garmin["id"],
                "provider": "garmin",
                "status": "reauth_required",
                "reason": "token_expired",
            }
        ],
        "providers": {"garmin": "reauth_required", "oura": "active", "strava": "active"},
        "last_sync_at": summary.json()["last_sync_at"],
    }
    assert when(summary.json()["last_sync_at"]) == synced_at


async def test_a_refresh_the_provider_refuses_puts_the_connection_in_need_of_attention(
    connections_service: ConnectionsUnderTest,
) -> None:
    oura = await connections_service.link(LEA, "oura")
    await connections_service.rows(
        "UPDATE provider_connections SET access_expires_at = now() + interval '1 minute'"
    )
    await connections_service.providers.expire_refresh_tokens("oura")

    refreshed = await refresh_expiring_tokens(connections_service.resources, connections_service.sessionmaker)

    assert refreshed == 0
    summary = (
        await connections_service.client.get(f"{API}/summary", headers=connections_service.athlete(LEA))
    ).json()
    assert summary["active_connections"] == 0
    assert summary["needs_attention"] == [
        {
            "connection_id": oura["id"],
            "provider": "oura",
            "status": "reauth_required",
            "reason": "refresh_refused",
        }
    ]
    [event] = await connections_service.staged_events("connections.connection.reauth_required")
    assert (event["data"]["connection_id"], event["data"]["reason"]) == (oura["id"], "refresh_refused")
    one = await connections_service.client.get(
        f"{API}/connections/{oura['id']}", headers=connections_service.athlete(LEA)
    )
    assert one.json()["needs_reauth"] is True
    assert (await request_sync(connections_service, oura["id"])).json()["error"][
        "code"
    ] == "connection_not_active"


async def test_the_health_bridge_connection_appears_once_its_api_key_is_used(
    connections_service: ConnectionsUnderTest,
) -> None:
    first_use = datetime.now(UTC) - timedelta(minutes=5)
    for used_at in (first_use, first_use + timedelta(minutes=3)):
        used = ApiKeyUsed(api_key_id="key_9f31", user_id=LEA, used_at=used_at)
        await connections_service.deliver(INGESTION_API_KEY_USED.envelope(used, subject=LEA))

    listed = await connections_service.client.get(
        f"{API}/connections", headers=connections_service.athlete(LEA)
    )

    [bridge] = listed.json()["connections"]
    assert (bridge["provider"], bridge["auth_type"], bridge["provider_user_id"]) == (
        "health_bridge",
        "api_key",
        LEA,
    )
    assert bridge["provider_name"] == "Apple Health / Google Fit" and bridge["status"] == "active"
    assert when(bridge["linked_at"]) == first_use
    assert when(bridge["last_used_at"]) == first_use + timedelta(minutes=3)
    [linked] = await connections_service.staged_events("connections.connection.linked")
    assert (linked["data"]["provider"], linked["data"]["auth_type"]) == ("health_bridge", "api_key")
    assert linked["data"]["connection_id"] == bridge["id"]
