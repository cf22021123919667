"""A planned session's workout taken to a device through the gateway: an athlete with a program downloads
a session's workout as a FIT file and as Garmin Connect JSON, and pushes it to COROS Training Hub (the
local fake), once however often the request is repeated with its idempotency key. The hub ends up with
the very workout of the download, in the athlete's time zone. Another athlete gets none of it, nor does
anyone unsigned."""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import httpx

from export.fit import as_written, check_fit, read_fit
from relay_contracts.workouts import StructuredWorkout
from relay_devstack import Stack
from relay_devstack.stack import FAKE_PROVIDERS_CLIENT_ID, FAKE_PROVIDERS_CLIENT_SECRET
from relay_testing.fakes.providers import FakeProvidersClient

from .test_connections import bearer
from .test_identity import eventually, sign_in
from .test_planning import ok, onboard, paris_today

FIT_MEDIA_TYPE = "application/vnd.ant.fit"
GARMIN_SPORT_TYPE_IDS = {"run": 1, "bike": 2, "swim": 4}  # Garmin Connect's sportTypeId of each sport
EXPORT_TIMEOUT_SECONDS = 30.0


def fake_providers(stack: Stack) -> FakeProvidersClient:
    return FakeProvidersClient(
        stack.config.fake_providers_url,
        client_id=FAKE_PROVIDERS_CLIENT_ID,
        client_secret=FAKE_PROVIDERS_CLIENT_SECRET,
    )


async def upcoming_session(gateway: httpx.AsyncClient, token: str, program_id: str) -> dict[str, Any]:
    """The first session of the program's first week still ahead of the athlete (the week starts on the
    coming Monday, or today when it is Monday)."""
    week = (await ok(gateway, "GET", f"/api/program/{program_id}/week/1", token))["week"]
    ahead = [s for s in week["sessions"] if date.fromisoformat(s["scheduled_date"]) >= paris_today()]
    assert ahead, week
    return ahead[0]


async def fit_of(gateway: httpx.AsyncClient, token: str, session_id: str) -> httpx.Response:
    """The session's FIT file, once export has heard of the session from planning over Kafka."""

    async def downloaded() -> httpx.Response | None:
        answer = await gateway.get(f"/api/sessions/{session_id}/workout.fit", headers=bearer(token))
        assert answer.status_code in (200, 404), answer.text
        return answer if answer.status_code == 200 else None

    answer = await eventually(downloaded, timeout=30.0)
    assert answer is not None, "export never heard of the planned session"
    return answer


async def test_an_athlete_downloads_a_sessions_workout_and_exports_it_once_to_coros_in_their_timezone(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    token, program = await onboard(gateway, stack, athlete_id)  # profile in Europe/Paris
    fake = fake_providers(stack)
    email, password = f"lou.{athlete_id}@example.com", f"pw-{uuid.uuid4().hex[:12]}"
    await fake.add_coros_account(email, password)
    linked = await ok(
        gateway,
        "POST",
        "/api/providers/coros_training_hub/login",
        token,
        json={"email": email, "password": password},
    )
    assert linked["connection"]["provider"] == "coros_training_hub", linked
    assert linked["connection"]["status"] == "active", linked
    planned = await upcoming_session(gateway, token, program["id"])
    session_id = planned["id"]
    workout = StructuredWorkout.model_validate(
        (await ok(gateway, "GET", f"/api/sessions/{session_id}", token))["session"]["workout"]
    )

    # The downloads: a FIT file Garmin's decoder takes, holding the planned workout, and Garmin's JSON.
    fit = await fit_of(gateway, token, session_id)
    assert fit.headers["content-type"] == FIT_MEDIA_TYPE
    assert f'filename="relay-workout-{planned["scheduled_date"]}.fit"' in fit.headers["content-disposition"]
    check_fit(fit.content)
    assert read_fit(fit.content) == as_written(workout)
    garmin = await ok(gateway, "GET", f"/api/sessions/{session_id}/workout.json", token)
    assert garmin["sportType"]["sportTypeId"] == GARMIN_SPORT_TYPE_IDS[planned["sport"]], garmin
    assert garmin["workoutName"] == workout.name and garmin["workoutSegments"][0]["workoutSteps"], garmin

    # The export, asked twice with the same key: one export.
    key = {"Idempotency-Key": f"e2e-export-{uuid.uuid4()}"}
    body = {"provider": "coros_training_hub"}
    asked = await gateway.post(f"/api/sessions/{session_id}/export", json=body, headers=bearer(token) | key)
    again = await gateway.post(f"/api/sessions/{session_id}/export", json=body, headers=bearer(token) | key)
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "queued" and asked.json()["session_id"] == session_id, asked.text
    assert again.status_code == 200 and again.json()["id"] == asked.json()["id"], again.text
    export_id = asked.json()["id"]

    async def settled() -> dict[str, Any] | None:
        export = await ok(gateway, "GET", f"/api/exports/{export_id}", token)
        return export if export["status"] in ("exported", "failed") else None

    export = await eventually(settled, timeout=EXPORT_TIMEOUT_SECONDS)
    assert export is not None, f"the export never left the queue within {EXPORT_TIMEOUT_SECONDS:.0f} s"
    assert export["status"] == "exported", export
    assert export["verified_at"] is not None and export["provider_workout_id"], export
    assert (
        export["provider"] == "coros_training_hub" and export["scheduled_date"] == planned["scheduled_date"]
    )
    listed = await ok(gateway, "GET", "/api/exports", token)
    assert [e["id"] for e in listed["exports"]] == [export_id] and listed["total"] == 1, listed

    # The hub holds the downloaded workout, once, in the athlete's time zone.
    imports = await fake.coros_imports(email)
    assert len(imports) == 1, [(i.import_id, i.file_name) for i in imports]
    [imported] = imports
    assert imported.import_id == export["provider_workout_id"]
    check_fit(imported.file)
    assert read_fit(imported.file) == read_fit(fit.content)
    assert imported.time_zone == "Europe/Paris"


async def test_another_athlete_gets_404_on_a_sessions_workout_and_export_and_no_token_gets_401(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    owner, program = await onboard(gateway, stack, random.randint(10**7, 10**8))
    session_id = (await upcoming_session(gateway, owner, program["id"]))["id"]
    await fit_of(gateway, owner, session_id)
    # The owner has no COROS link: the export is queued all the same, then fails; it is theirs either way.
    asked = await gateway.post(
        f"/api/sessions/{session_id}/export", json={"provider": "coros_training_hub"}, headers=bearer(owner)
    )
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["id"]
    stranger = (await sign_in(gateway, stack, random.randint(10**7, 10**8)))["token"]

    for method, path, body in (
        ("GET", f"/api/sessions/{session_id}/workout.fit", None),
        ("GET", f"/api/sessions/{session_id}/workout.json", None),
        ("POST", f"/api/sessions/{session_id}/export", {"provider": "coros_training_hub"}),
        ("GET", f"/api/exports/{export_id}", None),
    ):
        answer = await gateway.request(method, path, json=body, headers=bearer(stranger))
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "not_found", answer.text
    assert (await ok(gateway, "GET", "/api/exports", stranger))["exports"] == []
    mine = await ok(gateway, "GET", "/api/exports", owner)
    assert [e["id"] for e in mine["exports"]] == [export_id], mine

    for method, path, body in (
        ("GET", f"/api/sessions/{session_id}/workout.fit", None),
        ("GET", f"/api/sessions/{session_id}/workout.json", None),
        ("POST", f"/api/sessions/{session_id}/export", {"provider": "coros_training_hub"}),
        ("GET", f"/api/exports/{export_id}", None),
        ("GET", "/api/exports", None),
        ("GET", "/api/exports/settings", None),
    ):
        answer = await gateway.request(method, path, json=body)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "unauthorized", answer.text
