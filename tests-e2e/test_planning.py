"""An athlete's training plan through the gateway: signed in with Strava, the thresholds they give
identity reach planning through Kafka, the onboarding builds a periodized Ironman program on the days
they can train, a session skipped for illness lightens the coming ones, and a ride recorded on Strava
completes the planned session it matches. Another athlete sees none of it, nor does anyone unsigned."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from relay_devstack import Stack

from .test_connections import bearer, connections_of
from .test_identity import eventually, sign_in
from .test_ingestion import strava_of, webhook

PARIS = ZoneInfo("Europe/Paris")
THRESHOLDS = {
    "fc_max": 186,
    "ftp": 250,
    "threshold_pace_seconds_per_km": 270,
    "swim_css_seconds_per_100m": 105,
}
UNAVAILABLE_DAYS = [0, 3]  # the seed's numbering: 0 Sunday ... 6 Saturday
# Each sport's target and the span of its zones 1-5 as shares of the athlete's threshold (zones.py).
TARGETS = {
    "bike": ("power", THRESHOLDS["ftp"], 0.45, 1.20),
    "run": ("speed", 1000 / THRESHOLDS["threshold_pace_seconds_per_km"], 0.65, 1.15),
    "swim": ("speed", 100 / THRESHOLDS["swim_css_seconds_per_100m"], 0.80, 1.10),
}


async def ok(gateway: httpx.AsyncClient, method: str, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
    answer = await gateway.request(method, path, headers=bearer(token), **kwargs)
    assert answer.status_code == 200, f"{method} {path}: {answer.status_code} {answer.text}"
    body: dict[str, Any] = answer.json()
    return body


def paris_today() -> date:
    return datetime.now(PARIS).date()


def first_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7)


async def onboard(gateway: httpx.AsyncClient, stack: Stack, athlete_id: int) -> tuple[str, dict[str, Any]]:
    """Signs the athlete in and answers every onboarding step; returns their token and the program."""
    token = (await sign_in(gateway, stack, athlete_id, firstname="Lou", lastname="Plan"))["token"]
    # The seed's profile step has no thresholds: they are the profile's other fields, sent first so that
    # the whole profile identity publishes after the onboarding step holds them.
    await ok(gateway, "PATCH", "/api/auth/me/profile", token, json={**THRESHOLDS, "timezone": "Europe/Paris"})
    profile = {"birth_year": 1990, "gender": "F", "weight_kg": 61, "experience_level": "intermediate"}
    await ok(gateway, "POST", "/api/onboarding/profile", token, json={**profile, "longest_distance": "70.3"})

    async def profile_reached_planning() -> bool:
        status = await ok(gateway, "GET", "/api/onboarding/status", token)
        return bool(status["steps"]["level"]["completed"])

    assert await eventually(profile_reached_planning), "planning never heard of identity's profile"
    # A Sunday race, the 20th week from the program's first Monday.
    event_date = first_monday(paris_today()) + timedelta(weeks=20, days=-1)
    goal = {"event_name": "Ironman Nice", "event_date": event_date.isoformat(), "distance_type": "ironman"}
    answered = await ok(gateway, "POST", "/api/onboarding/goal", token, json=goal)
    assert answered["weeks_until_event"] == 20 and answered["recommended_template"], answered
    availability = {"weekly_hours": 12, "unavailable_days": UNAVAILABLE_DAYS, "preferred_long_day": 6}
    constraints = {
        "pool_access": True,
        "pool_schedule": {"monday": ["12:00-13:30"], "tuesday": ["19:00-21:00"], "saturday": ["08:00-12:00"]},
        "home_trainer": True,
    }
    for step, body in (("availability", availability), ("constraints", constraints)):
        assert await ok(gateway, "POST", f"/api/onboarding/{step}", token, json=body) == {"success": True}
    program = await ok(gateway, "POST", "/api/onboarding/complete", token, json={"target_time": 39600})
    assert program["program"]["template_id"] == answered["recommended_template"]
    return token, program["program"]


def targets_of(workout: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [s for item in workout["steps"] for s in (item["steps"] if item["type"] == "repeat" else [item])]
    return [step["target"] for step in steps if step["target"] is not None]


async def test_an_athletes_plan_is_built_lightened_after_illness_and_completed_by_a_strava_ride(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    token, program = await onboard(gateway, stack, athlete_id)
    today = paris_today()

    # The onboarding is done; the program runs from the next Monday to the race, phase after phase.
    status = await ok(gateway, "GET", "/api/onboarding/status", token)
    assert status["completed"] is True and all(step["completed"] for step in status["steps"].values())
    current = (await ok(gateway, "GET", "/api/program/current", token))["program"]
    assert current["id"] == program["id"] and current["status"] == "active"
    assert (
        current["goal"]["distance_type"] == "ironman" and current["goal"]["event_date"] == program["end_date"]
    )
    assert (current["progress"]["current_week"], current["progress"]["total_weeks"]) == (1, 20)
    detail = (await ok(gateway, "GET", f"/api/program/{program['id']}", token))["program"]
    spans = [[int(n) for n in phase["weeks"].split("-")] for phase in detail["phases"]]
    assert [n for first, last in spans for n in range(first, last + 1)] == list(range(1, 21)), spans
    assert detail["start_date"] == first_monday(today).isoformat() == detail["phases"][0]["start"]

    # Week 1: sessions only on days the athlete can train, each a workout built on their thresholds.
    week = (await ok(gateway, "GET", f"/api/program/{program['id']}/week/1", token))["week"]
    sessions = week["sessions"]
    assert week["start_date"] == detail["start_date"] and len(sessions) >= 5, week
    targeted: set[tuple[str, str]] = set()
    for planned in sessions:
        day = date.fromisoformat(planned["scheduled_date"])
        assert week["start_date"] <= planned["scheduled_date"] <= week["end_date"]
        assert planned["day_of_week"] == day.isoweekday() % 7 and day.isoweekday() % 7 not in UNAVAILABLE_DAYS
        workout = (await ok(gateway, "GET", f"/api/sessions/{planned['id']}", token))["session"]["workout"]
        assert workout["sport"] == planned["sport"] and workout["steps"], workout
        kind, threshold, lowest, highest = TARGETS[planned["sport"]]
        for target in targets_of(workout):
            targeted.add((planned["sport"], target["kind"]))
            assert target["kind"] == kind, (planned, target)
            assert lowest - 0.01 <= target["low"] / threshold <= target["high"] / threshold <= highest + 0.01
    assert {("bike", "power"), ("run", "speed")} <= targeted, targeted

    this_week = await ok(gateway, "GET", "/api/sessions/week", token)
    assert this_week["week"]["number"] == 1
    assert [s["id"] for s in this_week["sessions"]] == [s["id"] for s in sessions]
    assert this_week["stats"] == {"completed": 0, "pending": len(sessions), "skipped": 0}
    of_today = await ok(gateway, "GET", "/api/sessions/today", token)
    assert of_today["date"] == today.isoformat()
    due_today = [s["id"] for s in sessions if s["scheduled_date"] == of_today["date"]]
    assert [s["id"] for s in of_today["sessions"]] == due_today

    # Ill: the week's first session is skipped, and the sessions after it get shorter.
    skipped = sessions[0]
    answer = await ok(
        gateway,
        "PATCH",
        f"/api/sessions/{skipped['id']}/skip",
        token,
        json={"reason": "illness", "notes": "Fièvre"},
    )
    assert answer["session"] == {"id": skipped["id"], "status": "skipped", "skip_reason": "illness"}
    assert answer["adjustment_triggered"] is True
    after = (await ok(gateway, "GET", f"/api/program/{program['id']}/week/1", token))["week"]
    assert after["recalc_notes"] == "illness" and after["planned"]["hours"] < week["planned"]["hours"]
    planned_before = {s["id"]: s["duration_planned"] for s in sessions}
    following = [s for s in after["sessions"] if s["id"] != skipped["id"]]
    assert {s["id"] for s in following} == set(planned_before) - {skipped["id"]}
    for session in following:  # shortened, down to the 15-minute floor
        assert (
            session["duration_planned"] < planned_before[session["id"]] or session["duration_planned"] == 15
        )

    # A ride recorded on Strava on a planned ride's day, as long as planned, completes that session.
    rides = [s for s in following if s["sport"] == "bike"]
    ride = next(
        (s for s in rides if [r["scheduled_date"] for r in rides].count(s["scheduled_date"]) == 1), None
    )
    assert ride is not None, f"no day of week 1 has a single ride to match: {rides}"
    assert await eventually(lambda: connections_of(gateway, token)), "Strava was never linked"
    start = datetime.combine(date.fromisoformat(ride["scheduled_date"]), time(7, 30), PARIS).astimezone(UTC)
    minutes = ride["duration_planned"]
    activity = {
        "sport_type": "Ride",
        "name": "Sortie vélo du plan",
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "moving_time": minutes * 60,
        "elapsed_time": minutes * 60 + 300,
    }
    recorded = await strava_of(stack).put_activity(athlete_id, activity)
    assert recorded["start_date_local"].startswith(ride["scheduled_date"]), recorded
    assert recorded["timezone"].endswith("Europe/Paris"), recorded
    sent = await gateway.post("/api/webhook/strava", json=webhook(athlete_id, recorded["id"]))
    assert sent.status_code == 200 and sent.json() == {"received": True}

    async def ride_completed() -> dict[str, Any] | None:
        found: dict[str, Any] = (await ok(gateway, "GET", f"/api/sessions/{ride['id']}", token))["session"]
        return found if found["status"] == "completed" else None

    done = await eventually(ride_completed)
    assert done, "the Strava ride never completed its planned session"
    assert done["actual_duration"] == minutes and done["completed_at"] is not None
    assert done["strava_activity"], done
    stats = (await ok(gateway, "GET", "/api/sessions/week", token))["stats"]
    assert stats == {"completed": 1, "pending": len(sessions) - 2, "skipped": 1}

    # Ingestion hears of it in turn: the Strava list shows which session the ride completed.
    async def ride_matched() -> list[dict[str, Any]]:
        listed = await ok(gateway, "GET", "/api/strava/activities", token, params={"matched": "true"})
        return [a for a in listed["activities"] if a["matched_session_id"] == ride["id"]]

    assert await eventually(ride_matched), "the Strava activity never showed the session it completed"
    load = await ok(gateway, "GET", "/api/training-load", token, params={"to": ride["scheduled_date"]})
    assert load["days"][-1]["date"] == ride["scheduled_date"] and load["days"][-1]["stress"] > 0


async def test_another_athlete_gets_404_on_a_program_and_its_sessions_and_no_token_gets_401(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    owner, program = await onboard(gateway, stack, random.randint(10**7, 10**8))
    week = (await ok(gateway, "GET", f"/api/program/{program['id']}/week/1", owner))["week"]
    session_id = week["sessions"][0]["id"]
    stranger = (await sign_in(gateway, stack, random.randint(10**7, 10**8)))["token"]

    for method, path, body in (
        ("GET", f"/api/program/{program['id']}", None),
        ("GET", f"/api/program/{program['id']}/week/1", None),
        ("GET", f"/api/program/{program['id']}/overview", None),
        ("POST", f"/api/program/{program['id']}/recalculate", None),
        ("GET", f"/api/sessions/{session_id}", None),
        ("PATCH", f"/api/sessions/{session_id}/skip", {"reason": "illness"}),
        ("PATCH", f"/api/sessions/{session_id}/complete", {"perceived_effort": 5}),
    ):
        answer = await gateway.request(method, path, json=body, headers=bearer(stranger))
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "not_found", answer.text
    untouched = (await ok(gateway, "GET", f"/api/sessions/{session_id}", owner))["session"]
    assert untouched["status"] == "pending"

    for path in (
        "/api/program/current",
        f"/api/program/{program['id']}",
        f"/api/sessions/{session_id}",
        "/api/sessions/today",
        "/api/onboarding/status",
    ):
        answer = await gateway.get(path)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized", (
            path,
            answer.text,
        )
