import asyncio
import hashlib

from .conftest import IdentityUnderTest, bearer


async def test_the_profile_is_validated_saved_and_published_whole(identity: IdentityUnderTest) -> None:
    athlete = await identity.sign_in(athlete_id=7001)
    headers = bearer(athlete["token"])

    saved = await identity.client.patch(
        "/api/auth/me/profile",
        headers=headers,
        json={"experience_level": "intermediate", "weekly_hours_available": 12, "fc_max": 185, "ftp": 250},
    )
    again = await identity.client.patch(
        "/api/auth/me/profile",
        headers=headers,
        json={"timezone": "Europe/Paris", "swim_css_seconds_per_100m": 98},
    )

    assert saved.status_code == 200
    profile = again.json()["profile"]
    assert (
        profile["experience_level"],
        profile["weekly_hours_available"],
        profile["fc_max"],
        profile["ftp"],
    ) == (
        "intermediate",
        12,
        185,
        250,
    )
    assert profile["timezone"] == "Europe/Paris"
    published = (await identity.staged_events("identity.profile.updated"))[-1]["data"]
    assert published["max_heart_rate"] == 185 and published["ftp_watts"] == 250
    assert published["swim_css_seconds_per_100m"] == 98 and published["timezone"] == "Europe/Paris"
    me = (await identity.client.get("/api/auth/me", headers=headers)).json()
    assert me["profile"]["fc_max"] == 185


async def test_a_timezone_cleared_with_null_is_utc_again(identity: IdentityUnderTest) -> None:
    athlete = await identity.sign_in(athlete_id=7003)
    headers = bearer(athlete["token"])
    await identity.client.patch("/api/auth/me/profile", headers=headers, json={"timezone": "Europe/Paris"})

    cleared = await identity.client.patch(
        "/api/auth/me/profile", headers=headers, json={"timezone": None, "ftp": None}
    )

    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["profile"]["timezone"], cleared.json()["profile"]["ftp"]) == ("UTC", None)
    published = (await identity.staged_events("identity.profile.updated"))[-1]["data"]
    assert published["timezone"] == "UTC"


async def test_an_impossible_profile_is_refused_field_by_field_and_nothing_changes(
    identity: IdentityUnderTest,
) -> None:
    athlete = await identity.sign_in(athlete_id=7002)
    headers = bearer(athlete["token"])
    for body, field in (
        ({"fc_max": 400}, "fc_max"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"birth_year": 2030}, "birth_year"),
        ({"experience_level": "god"}, "experience_level"),
        ({"password": "x"}, "password"),
    ):
        response = await identity.client.patch("/api/auth/me/profile", headers=headers, json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == "validation_error" and error["details"]["field"] == field
    assert await identity.rows("SELECT id FROM profiles") == []


async def test_onboarding_saves_the_profile_as_in_the_seed(identity: IdentityUnderTest) -> None:
    athlete = await identity.sign_in(athlete_id=7003)
    response = await identity.client.post(
        "/api/onboarding/profile",
        headers=bearer(athlete["token"]),
        json={
            "birth_year": 1990,
            "gender": "M",
            "weight_kg": 75,
            "experience_level": "intermediate",
            "triathlon_count": 3,
            "longest_distance": "olympic",
        },
    )
    assert response.status_code == 200
    assert response.json()["success"] is True and response.json()["profile_id"].startswith("prof_")


async def test_an_api_key_is_shown_once_stored_hashed_and_revocable(identity: IdentityUnderTest) -> None:
    athlete = await identity.sign_in(athlete_id=7004)
    headers = bearer(athlete["token"])

    created = await identity.client.post(
        "/api/auth/api-keys", headers=headers, json={"name": "Health Auto Export"}
    )
    key = created.json()["key"]
    listed = (await identity.client.get("/api/auth/api-keys", headers=headers)).json()["api_keys"]

    assert created.status_code == 201 and key.startswith("qt_") and len(key) > 40
    assert listed[0]["prefix"] == key[:8] and "key" not in listed[0] and listed[0]["last_used_at"] is None
    stored = await identity.rows("SELECT * FROM api_keys")
    assert key not in str([dict(row) for row in stored])
    event = (await identity.staged_events("identity.api_key.created"))[0]["data"]
    assert event["key_sha256"] == hashlib.sha256(key.encode()).hexdigest() and key not in str(event)

    revoked = await identity.client.delete(f"/api/auth/api-keys/{listed[0]['id']}", headers=headers)
    assert revoked.json() == {"success": True}
    assert (await identity.client.get("/api/auth/api-keys", headers=headers)).json()["api_keys"][0][
        "revoked_at"
    ]
    assert len(await identity.staged_events("identity.api_key.revoked")) == 1


async def test_nobody_revokes_another_athletes_api_key(identity: IdentityUnderTest) -> None:
    owner = await identity.sign_in(athlete_id=7005)
    other = await identity.sign_in(athlete_id=7006)
    created = await identity.client.post(
        "/api/auth/api-keys", headers=bearer(owner["token"]), json={"name": "bridge"}
    )

    response = await identity.client.delete(
        f"/api/auth/api-keys/{created.json()['id']}", headers=bearer(other["token"])
    )

    assert response.status_code == 404
    assert (await identity.rows("SELECT revoked_at FROM api_keys"))[0]["revoked_at"] is None
    assert (await identity.client.get("/api/auth/api-keys", headers=bearer(other["token"]))).json()[
        "api_keys"
    ] == []


async def test_deleting_the_account_leaves_no_row_about_the_athlete_but_the_deletion_event(
    identity: IdentityUnderTest,
) -> None:
    athlete = await identity.sign_in(athlete_id=7007, firstname="Zoe")
    headers = bearer(athlete["token"])
    await identity.client.patch("/api/auth/me/profile", headers=headers, json={"ftp": 240})
    await identity.client.post("/api/auth/api-keys", headers=headers, json={"name": "bridge"})
    user_id = athlete["user"]["id"]

    deleted = await identity.client.delete("/api/auth/me", headers=headers)

    assert deleted.json() == {"success": True}
    assert (await identity.client.get("/api/auth/me", headers=headers)).status_code == 401
    tables = [
        row["tablename"]
        for row in await identity.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    for table in tables:
        query = f'SELECT t::text AS row FROM "{table}" t WHERE t::text LIKE $1'  # noqa: S608 - catalog names
        rows = await identity.rows(query, f"%{user_id}%")
        if table != "outbox":
            assert rows == [], table
    # Staged events wait for Kafka; once the deletion is relayed, the service forgets them all.
    for _ in range(100):
        if not await identity.rows("SELECT id FROM outbox WHERE key = $1", user_id):
            break
        await asyncio.sleep(0.2)
    assert await identity.rows("SELECT event_type FROM outbox WHERE key = $1", user_id) == []
