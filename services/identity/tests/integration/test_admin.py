from datetime import UTC, date, datetime

import httpx

from identity.cli import create_super_admin
from identity.config import Settings
from identity.handlers import on_program_activated
from relay_contracts.catalog import PLANNING_PROGRAM_ACTIVATED
from relay_contracts.events.common import Actor
from relay_contracts.events.planning import ProgramActivated

from .conftest import IdentityUnderTest

PASSWORD = "correct horse battery staple"


async def admin_client(
    identity: IdentityUnderTest, email: str, password: str = PASSWORD
) -> tuple[httpx.Response, str]:
    response = await identity.client.post(
        "/api/admin/auth/login", json={"email": email, "password": password}
    )
    return response, response.json().get("csrf_token", "")


async def first_super_admin(identity: IdentityUnderTest, email: str = "ops@relay.example") -> None:
    await create_super_admin(Settings(), email, "Ops", PASSWORD)


async def test_the_first_super_admin_signs_in_with_a_strict_httponly_cookie(
    identity: IdentityUnderTest,
) -> None:
    await first_super_admin(identity)

    response, csrf = await admin_client(identity, "OPS@relay.example")

    assert response.status_code == 200
    assert response.json()["admin"]["role"] == "super_admin" and response.json()["success"] is True
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("admin_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api/admin" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here; over TLS it is Secure
    assert csrf and csrf not in cookie
    stored = (await identity.rows("SELECT password_hash FROM admins"))[0]["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_state_changing_admin_calls_need_the_csrf_token(identity: IdentityUnderTest) -> None:
    await first_super_admin(identity)
    _, csrf = await admin_client(identity, "ops@relay.example")
    new_admin = {"email": "help@relay.example", "name": "Help", "role": "support", "password": PASSWORD}

    without = await identity.client.post("/api/admin/admins", json=new_admin)
    wrong = await identity.client.post("/api/admin/admins", json=new_admin, headers={"X-CSRF-Token": "guess"})
    right = await identity.client.post("/api/admin/admins", json=new_admin, headers={"X-CSRF-Token": csrf})

    assert without.status_code == 403 and wrong.status_code == 403
    assert right.status_code == 201 and right.json()["role"] == "support"
    assert len(await identity.rows("SELECT id FROM admins")) == 2


async def test_roles_are_enforced_on_admin_routes(identity: IdentityUnderTest) -> None:
    await first_super_admin(identity)
    _, csrf = await admin_client(identity, "ops@relay.example")
    for role in ("support", "read_only"):
        body = {"email": f"{role}@relay.example", "name": role, "role": role, "password": PASSWORD}
        await identity.client.post("/api/admin/admins", json=body, headers={"X-CSRF-Token": csrf})
    athlete = await identity.sign_in(athlete_id=8001)
    revoke = f"/api/admin/users/{athlete['user']['id']}/sessions/revoke"

    identity.client.cookies.clear()
    _, viewer_csrf = await admin_client(identity, "read_only@relay.example")
    assert (await identity.client.get("/api/admin/users")).status_code == 200
    assert (await identity.client.get("/api/admin/admins")).status_code == 403
    assert (await identity.client.post(revoke, headers={"X-CSRF-Token": viewer_csrf})).status_code == 403

    identity.client.cookies.clear()
    _, support_csrf = await admin_client(identity, "support@relay.example")
    signed_out = await identity.client.post(revoke, headers={"X-CSRF-Token": support_csrf})
    assert signed_out.status_code == 200 and signed_out.json()["revoked"] == 1
    assert (await identity.client.get("/api/admin/admins")).status_code == 403
    athlete_me = await identity.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {athlete['token']}"}
    )
    assert athlete_me.status_code == 401

    identity.client.cookies.clear()
    assert (await identity.client.get("/api/admin/users")).status_code == 401


async def test_repeated_failures_lock_the_account_and_are_published(identity: IdentityUnderTest) -> None:
    await first_super_admin(identity)
    for _ in range(5):
        failed, _ = await admin_client(identity, "ops@relay.example", "wrong password!")
        assert failed.status_code == 401
    locked, _ = await admin_client(identity, "ops@relay.example")
    unknown, _ = await admin_client(identity, "nobody@relay.example")

    assert locked.status_code == 401 and locked.json()["error"]["details"]["reason"] == "locked"
    assert unknown.status_code == 401 and unknown.json()["error"]["message"] == "Wrong email or password"
    reasons = [
        event["data"]["reason"] for event in await identity.staged_events("identity.admin.login_failed")
    ]
    assert reasons == ["wrong_password"] * 4 + ["locked", "locked", "unknown_email"]
    counted = [identity.logins("admin_password", o) for o in ("wrong_credentials", "locked", "succeeded")]
    assert counted == [5, 2, 0]


async def test_logging_out_ends_the_admin_session(identity: IdentityUnderTest) -> None:
    await first_super_admin(identity)
    _, csrf = await admin_client(identity, "ops@relay.example")
    session_cookie = identity.client.cookies.get("admin_session")

    assert (
        await identity.client.post("/api/admin/auth/logout", headers={"X-CSRF-Token": csrf})
    ).status_code == 200

    identity.client.cookies.set("admin_session", session_cookie or "", path="/api/admin")
    assert (await identity.client.get("/api/admin/users")).status_code == 401


async def test_the_user_list_searches_filters_pages_and_shows_the_active_program(
    identity: IdentityUnderTest,
) -> None:
    lea = await identity.sign_in(athlete_id=8101, firstname="Lea", lastname="Brun")
    await identity.sign_in(athlete_id=8102, firstname="Tom", lastname="Vidal")
    await identity.sign_in(athlete_id=8103, firstname="Leo", lastname="Martin")
    await identity.rows(
        "UPDATE users SET last_active_at = now() - interval '90 days' WHERE strava_athlete_id = '8102'"
    )
    program = ProgramActivated(
        program_id="prog_001",
        user_id=lea["user"]["id"],
        distance_type="ironman",
        event_date=date(2027, 9, 14),
        start_date=date(2027, 3, 1),
        activated_at=datetime.now(UTC),
        actor=Actor(type="athlete", id=lea["user"]["id"]),
    )
    async with identity.app.state.runtime.sessionmaker() as session, session.begin():
        await on_program_activated(
            PLANNING_PROGRAM_ACTIVATED.envelope(program, subject=program.user_id), session
        )
    await first_super_admin(identity)
    await admin_client(identity, "ops@relay.example")

    found = (await identity.client.get("/api/admin/users", params={"search": "le"})).json()
    inactive = (await identity.client.get("/api/admin/users", params={"status": "inactive"})).json()
    page = (await identity.client.get("/api/admin/users", params={"limit": 2, "offset": 2})).json()
    wildcard = (await identity.client.get("/api/admin/users", params={"search": "%"})).json()

    assert sorted(user["first_name"] for user in found["users"]) == ["Lea", "Leo"]
    lea_row = next(user for user in found["users"] if user["first_name"] == "Lea")
    assert lea_row["active_program"] == {
        "id": "prog_001",
        "distance_type": "ironman",
        "event_date": "2027-09-14",
    }
    assert [user["first_name"] for user in inactive["users"]] == ["Tom"]
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 2} and len(page["users"]) == 1
    assert wildcard["users"] == []


async def test_an_operators_read_of_athletes_and_operators_is_audited(identity: IdentityUnderTest) -> None:
    await first_super_admin(identity)
    await identity.sign_in(athlete_id=8101)
    await admin_client(identity, "ops@relay.example")

    await identity.client.get("/api/admin/users", params={"search": "a", "limit": 5})
    await identity.client.get("/api/admin/admins")

    accesses = [event["data"] for event in await identity.staged_events("identity.admin.data_accessed")]
    assert [(a["path"], a["query"], a["records"], a["role"]) for a in accesses] == [
        ("/api/admin/users", {"search": "a", "limit": "5"}, 1, "super_admin"),
        ("/api/admin/admins", {}, 1, "super_admin"),
    ]
    assert all(a["actor"] == {"type": "admin", "id": a["admin_id"]} for a in accesses)
