"""The athlete's connections API under /api/providers (seed 004): the providers on offer, the athlete's
connections and nobody else's, and pausing or resuming one."""

from __future__ import annotations

import pytest

from .conftest import ConnectionsUnderTest

pytestmark = pytest.mark.integration

LEA, NOAH = "usr_lea_0a9e51", "usr_noah_e2c47b"
EVERY_PROVIDER = (
    "strava",
    "garmin",
    "coros",
    "coros_training_hub",
    "polar",
    "oura",
    "whoop",
    "fitbit",
    "wahoo",
    "health_bridge",
)


async def test_the_available_providers_say_how_each_is_linked_what_it_sends_and_where_workouts_go(
    connections_service: ConnectionsUnderTest,
) -> None:
    answered = await connections_service.client.get("/api/providers/available-providers")

    assert answered.status_code == 200
    providers = {p["key"]: p for p in answered.json()["providers"]}
    assert tuple(providers) == EVERY_PROVIDER
    assert all(p["available"] and p["data_types"] for k, p in providers.items() if k != "coros_training_hub")
    assert {k: p["auth_type"] for k, p in providers.items()} == {
        "strava": "oauth2",
        "garmin": "oauth2_pkce",
        "coros": "oauth2",
        "coros_training_hub": "password",
        "polar": "oauth2",
        "oura": "oauth2",
        "whoop": "oauth2",
        "fitbit": "oauth2_pkce",
        "wahoo": "oauth2",
        "health_bridge": "api_key",
    }
    assert {k for k, p in providers.items() if p["exports_workouts"]} == {"garmin", "coros_training_hub"}
    assert providers["coros"]["brand"] == providers["coros_training_hub"]["brand"] == "coros"
    assert providers["strava"]["scopes"] == ["read", "activity:read_all", "profile:read_all"]
    assert providers["polar"]["scopes"] == ["accesslink.read_all"]
    assert "offline" in providers["whoop"]["scopes"] and "offline_data" in providers["wahoo"]["scopes"]
    assert providers["health_bridge"]["link_method"] == "api_key"
    assert providers["coros_training_hub"]["link_method"] == "password"
    assert providers["coros_training_hub"]["unofficial"] is True
    assert "unofficial" in providers["coros_training_hub"]["notice"]
    assert {
        p["link_method"] for k, p in providers.items() if k not in ("health_bridge", "coros_training_hub")
    } == {"authorization_page"}
    assert "sleep" in providers["oura"]["data_types"] and "recovery" in providers["whoop"]["data_types"]


async def test_an_athlete_lists_only_their_own_connections(connections_service: ConnectionsUnderTest) -> None:
    strava = await connections_service.link(LEA, "strava")
    oura = await connections_service.link(LEA, "oura")
    await connections_service.link(NOAH, "garmin")

    listed = await connections_service.client.get(
        "/api/providers/connections", headers=connections_service.athlete(LEA)
    )

    assert listed.status_code == 200
    assert listed.json()["total"] == 2
    assert [(c["provider"], c["id"]) for c in listed.json()["connections"]] == [
        ("oura", oura["id"]),
        ("strava", strava["id"]),
    ]
    assert all(
        "token" not in name for c in listed.json()["connections"] for name in c if name != "token_expires_at"
    )


async def test_an_athlete_reads_one_of_their_connections_by_id_and_by_provider(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = (await connections_service.providers.queue_user("fitbit")).user_id
    linked = await connections_service.link(LEA, "fitbit")
    headers = connections_service.athlete(LEA)

    by_id = await connections_service.client.get(
        f"/api/providers/connections/{linked['id']}", headers=headers
    )
    by_provider = await connections_service.client.get(
        "/api/providers/connections/provider/fitbit", headers=headers
    )

    assert by_id.status_code == by_provider.status_code == 200
    assert by_id.json() == by_provider.json() == linked
    assert by_id.json()["provider_user_id"] == account and by_id.json()["provider_name"] == "Fitbit"
    assert by_id.json()["provider_profile"]["display_name"]


async def test_a_provider_the_athlete_has_not_linked_is_not_found(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.link(NOAH, "polar")

    missing = await connections_service.client.get(
        "/api/providers/connections/provider/polar", headers=connections_service.athlete(LEA)
    )

    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "connection_not_found",
        "message": "No connection to polar",
        "details": {"provider": "polar"},
    }


async def test_another_athletes_connection_is_not_found_on_any_route_and_stays_untouched(
    connections_service: ConnectionsUnderTest,
) -> None:
    noahs = await connections_service.link(NOAH, "garmin")
    lea = connections_service.athlete(LEA)
    routes = [
        ("GET", ""),
        ("PATCH", "/toggle"),
        ("DELETE", ""),
        ("POST", "/sync"),
        ("GET", "/sync-history"),
        ("GET", "/sync-status"),
    ]

    for method, suffix in routes:
        answered = await connections_service.client.request(
            method, f"/api/providers/connections/{noahs['id']}{suffix}", headers=lea
        )
        assert answered.status_code == 404, (method, suffix)
        assert answered.json()["error"]["code"] == "connection_not_found", (method, suffix)
        assert answered.json()["error"]["details"] == {"connection_id": noahs["id"]}

    still = await connections_service.client.get(
        f"/api/providers/connections/{noahs['id']}", headers=connections_service.athlete(NOAH)
    )
    assert still.json() == noahs
    assert await connections_service.rows("SELECT id FROM sync_history") == []
    assert (
        await connections_service.providers.received("garmin", "/wellness-api/rest/user/registration") == []
    )
    for event_type in ("updated", "revoked"):
        assert await connections_service.staged_events(f"connections.connection.{event_type}") == []
    assert await connections_service.staged_events("connections.sync.requested") == []


@pytest.mark.parametrize("connection_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_a_connection_that_does_not_exist_is_not_found(
    connections_service: ConnectionsUnderTest, connection_id: str
) -> None:
    missing = await connections_service.client.get(
        f"/api/providers/connections/{connection_id}", headers=connections_service.athlete(LEA)
    )

    assert missing.status_code == 404 and missing.json()["error"]["code"] == "connection_not_found"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic bGVhOnB3"])
async def test_every_athlete_route_needs_a_valid_bearer_token(
    connections_service: ConnectionsUnderTest, authorization: str | None
) -> None:
    linked = await connections_service.link(LEA, "wahoo")
    headers = {} if authorization is None else {"Authorization": authorization}
    one = f"/api/providers/connections/{linked['id']}"
    routes = [
        ("GET", "/api/providers/connections"),
        ("GET", "/api/providers/connections/provider/wahoo"),
        ("GET", one),
        ("DELETE", one),
        ("PATCH", f"{one}/toggle"),
        ("POST", f"{one}/sync"),
        ("GET", f"{one}/sync-history"),
        ("GET", f"{one}/sync-status"),
        ("GET", "/api/providers/summary"),
        ("POST", "/api/providers/wahoo/connect"),
    ]

    for method, path in routes:
        answered = await connections_service.client.request(method, path, headers=headers)
        assert answered.status_code == 401, (method, path)
        assert answered.json()["error"]["code"] == "unauthorized", (method, path)

    [row] = await connections_service.rows("SELECT is_active FROM provider_connections")
    assert row["is_active"] is True


async def test_toggling_flips_a_connection_and_publishes_the_change(
    connections_service: ConnectionsUnderTest,
) -> None:
    linked = await connections_service.link(LEA, "coros")
    toggle = f"/api/providers/connections/{linked['id']}/toggle"
    headers = connections_service.athlete(LEA)

    paused = await connections_service.client.patch(toggle, headers=headers)
    resumed = await connections_service.client.patch(toggle, headers=headers)

    assert paused.status_code == resumed.status_code == 200
    assert (paused.json()["is_active"], resumed.json()["is_active"]) == (False, True)
    assert paused.json()["status"] == "active"
    events = await connections_service.staged_events("connections.connection.updated")
    assert [e["data"]["is_active"] for e in events] == [False, True]
    assert events[0]["subject"] == LEA
    assert events[0]["data"] | {"is_active": None} == {
        "connection_id": linked["id"],
        "user_id": LEA,
        "provider": "coros",
        "changed": ["is_active"],
        "is_active": None,
        "status": "active",
        "actor": {"type": "athlete", "id": LEA},
    }


async def test_toggling_with_an_explicit_state_sets_it_and_publishes_only_a_change(
    connections_service: ConnectionsUnderTest,
) -> None:
    linked = await connections_service.link(LEA, "whoop")
    toggle = f"/api/providers/connections/{linked['id']}/toggle"
    headers = connections_service.athlete(LEA)

    answers = [
        await connections_service.client.patch(toggle, json={"is_active": wanted}, headers=headers)
        for wanted in (False, False, True)
    ]

    assert [a.json()["is_active"] for a in answers] == [False, False, True]
    [row] = await connections_service.rows("SELECT is_active FROM provider_connections")
    assert row["is_active"] is True
    events = await connections_service.staged_events("connections.connection.updated")
    assert [e["data"]["is_active"] for e in events] == [False, True]
    refused = await connections_service.client.patch(toggle, json={"is_active": "maybe"}, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "validation_error"
