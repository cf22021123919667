"""The athlete's way through onboarding to their program and sessions (seed 001), against the real
database; each athlete calls with their own access token, and the events the app's answers promise are
staged in the outbox."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.models import OutboxMessage
from relay_testing.identity import FakeIdentity

from .conftest import PlanningApi

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
EVENT = TODAY + timedelta(weeks=24)


@dataclass
class Api:
    client: httpx.AsyncClient
    identity: FakeIdentity
    sessionmaker: async_sessionmaker[AsyncSession]

    async def call(self, method: str, user_id: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.identity.bearer(user_id))

    async def events(self) -> Counter[str]:
        async with self.sessionmaker() as session:
            return Counter((await session.exec(select(OutboxMessage.event_type))).all())


@pytest.fixture
def api(planning_api: PlanningApi, sessionmaker: async_sessionmaker[AsyncSession]) -> Api:
    return Api(client=planning_api.client, identity=planning_api.identity, sessionmaker=sessionmaker)


GOAL = {
    "event_name": "Ironman Nice",
    "event_date": EVENT.isoformat(),
    "distance_type": "ironman",
    "target_time": None,
    "event_location": "Nice, France",
    "event_url": "https://www.ironman.com/im-nice",
}
AVAILABILITY = {"weekly_hours": 14, "unavailable_days": [0, 3], "preferred_long_day": 6}
CONSTRAINTS = {
    "pool_access": True,
    "pool_schedule": {
        "monday": ["12:00-13:30", "19:00-21:00"],
        "wednesday": ["12:00-13:30"],
        "saturday": ["08:00-12:00"],
    },
    "home_trainer": True,
    "outdoor_bike_only": False,
    "injuries_notes": "Tendinite cheville droite en 2023, guérie",
}


async def onboard(api: Api, user_id: str) -> dict[str, Any]:
    for path, body in (("goal", GOAL), ("availability", AVAILABILITY), ("constraints", CONSTRAINTS)):
        answer = await api.call("POST", user_id, f"/api/onboarding/{path}", body)
        assert answer.status_code == 200, answer.text
    completed = await api.call(
        "POST",
        user_id,
        "/api/onboarding/complete",
        {"target_time": 39600, "fc_max_manual": 188, "ftp_manual": 240},
    )
    assert completed.status_code == 200, completed.text
    program: dict[str, Any] = completed.json()["program"]
    return program


async def test_an_athlete_goes_from_onboarding_to_a_program_that_respects_their_answers(api: Api) -> None:
    goal = (await api.call("POST", "ath-1", "/api/onboarding/goal", GOAL)).json()
    assert goal["success"] is True
    assert goal["weeks_until_event"] in (24, 25)
    assert goal["recommended_template"] == "tpl_im_beg_24"  # no profile level yet: a beginner's plan
    status = (await api.call("GET", "ath-1", "/api/onboarding/status")).json()
    assert status["completed"] is False
    assert status["steps"]["goal"]["completed"] is True
    assert status["steps"]["availability"]["completed"] is False

    program = await onboard(api, "ath-1")
    assert program["end_date"] == EVENT.isoformat()
    assert [phase["name"] for phase in program["phases"]] == ["Base", "Build 1", "Build 2", "Peak", "Taper"]
    assert program["phases"][0]["weeks"].startswith("1-")
    assert program["phases"][-1]["weeks"].endswith(f"-{program['total_weeks']}")
    assert date.fromisoformat(program["start_date"]).weekday() == 0
    assert (await api.call("GET", "ath-1", "/api/onboarding/status")).json()["completed"] is True

    current = (await api.call("GET", "ath-1", "/api/program/current")).json()["program"]
    assert current["id"] == program["id"]
    assert current["goal"]["event_name"] == "Ironman Nice"
    assert current["progress"]["total_weeks"] == program["total_weeks"]

    overview = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/overview")).json()["overview"]
    assert [week["week_number"] for week in overview["weeks"]] == list(range(1, program["total_weeks"] + 1))
    assert all(week["planned_hours"] <= 14 * 1.05 for week in overview["weeks"])
    peak = max(week["planned_hours"] for week in overview["weeks"])
    assert overview["weeks"][-1]["planned_hours"] < peak  # the race week is a taper week

    sessions_seen = 0
    for number in range(1, program["total_weeks"] + 1):
        week = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/week/{number}")).json()["week"]
        for planned in week["sessions"]:
            sessions_seen += 1
            assert planned["day_of_week"] not in AVAILABILITY["unavailable_days"]
            assert week["start_date"] <= planned["scheduled_date"] <= week["end_date"]
    events = await api.events()
    assert events["planning.program.generated"] == 1
    assert events["planning.program.activated"] == 1
    assert events["planning.session.scheduled"] == sessions_seen


async def test_a_session_reads_in_full_and_is_completed_or_skipped_by_its_athlete(api: Api) -> None:
    program = await onboard(api, "ath-1")
    week = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/week/1")).json()["week"]
    first, second = week["sessions"][0], week["sessions"][1]

    detail = (await api.call("GET", "ath-1", f"/api/sessions/{first['id']}")).json()["session"]
    assert detail["objective"] and detail["tips"]
    assert detail["workout"]["sport"] == first["sport"]
    assert detail["workout_details"]["warmup"]["intensity"] == "warmup"
    assert detail["workout_details"]["cooldown"]["intensity"] == "cooldown"
    # Whatever the targets of a ride or a run (power, pace), each step's zone is also given in heart
    # rate (max HR 188).
    ride = next(item for item in week["sessions"] if item["sport"] == "bike")
    zones = (await api.call("GET", "ath-1", f"/api/sessions/{ride['id']}")).json()["session"]["hr_zones"]
    assert {"warmup", "cooldown"} <= set(zones)
    assert all(low < high <= 188 for low, high in (zone["hr_range"] for zone in zones.values()))
    if first["sport"] == "swim":
        assert detail["pool_slot"] is not None

    done = await api.call(
        "PATCH",
        "ath-1",
        f"/api/sessions/{first['id']}/complete",
        {"perceived_effort": 7, "notes": "Bonnes sensations", "actual_duration": first["duration_planned"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["session"]["status"] == "completed"
    assert done.json()["week_stats"]["completed"] == 1

    skipped = await api.call("PATCH", "ath-1", f"/api/sessions/{second['id']}/skip", {"reason": "fatigue"})
    assert skipped.json() == {
        "success": True,
        "session": {"id": second["id"], "status": "skipped", "skip_reason": "fatigue"},
        "adjustment_triggered": True,
    }
    refused = await api.call("PATCH", "ath-1", f"/api/sessions/{first['id']}/skip", {"reason": "schedule"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"

    feedback = await api.call(
        "POST", "ath-1", f"/api/sessions/{first['id']}/feedback", {"perceived_effort": 8, "feeling": "hard"}
    )
    assert feedback.json() == {"success": True}
    events = await api.events()
    assert events["planning.session.completed"] == 1
    assert events["planning.session.skipped"] == 1
    assert events["planning.program.recalculated"] == 1  # fatigue eases the coming days
    detail = (await api.call("GET", "ath-1", f"/api/program/{program['id']}")).json()["program"]
    assert detail["last_recalc_at"] is not None


async def test_illness_lightens_the_coming_week_and_the_change_is_announced(api: Api) -> None:
    program = await onboard(api, "ath-1")
    before = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/overview")).json()["overview"]
    week = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/week/1")).json()["week"]
    sick = await api.call(
        "PATCH", "ath-1", f"/api/sessions/{week['sessions'][0]['id']}/skip", {"reason": "illness"}
    )
    assert sick.json()["adjustment_triggered"] is True

    after = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/overview")).json()["overview"]
    assert after["totals"]["planned_hours"] < before["totals"]["planned_hours"]
    untouched = [w for w in after["weeks"] if w["week_number"] > 3]
    assert untouched == [w for w in before["weeks"] if w["week_number"] > 3]
    events = await api.events()
    assert events["planning.program.recalculated"] == 1
    assert events["planning.session.changed"] >= 1


async def test_a_recalculation_on_demand_answers_with_its_changes(api: Api) -> None:
    program = await onboard(api, "ath-1")
    answer = await api.call("POST", "ath-1", f"/api/program/{program['id']}/recalculate")
    assert answer.status_code == 200, answer.text
    recalculation = answer.json()["recalculation"]
    assert recalculation["status"] == "completed"
    # Nothing was done or missed yet: the plan stands.
    assert recalculation["changes"] == {
        "weeks_modified": [],
        "sessions_added": 0,
        "sessions_removed": 0,
        "volume_adjustment": 0,
    }
    assert (
        await api.call("POST", "intruder", f"/api/program/{program['id']}/recalculate")
    ).status_code == 404


async def test_nobody_reads_or_changes_another_athletes_program_or_sessions(api: Api) -> None:
    program = await onboard(api, "ath-1")
    week = (await api.call("GET", "ath-1", f"/api/program/{program['id']}/week/1")).json()["week"]
    session_id = week["sessions"][0]["id"]
    for method, path, body in (
        ("GET", f"/api/program/{program['id']}", None),
        ("GET", f"/api/program/{program['id']}/overview", None),
        ("GET", f"/api/program/{program['id']}/week/1", None),
        ("GET", f"/api/sessions/{session_id}", None),
        ("PATCH", f"/api/sessions/{session_id}/complete", {"perceived_effort": 3}),
        ("PATCH", f"/api/sessions/{session_id}/skip", {"reason": "other"}),
        ("POST", f"/api/sessions/{session_id}/feedback", {"perceived_effort": 3, "feeling": "ok"}),
    ):
        answer = await api.call(method, "intruder", path, body)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["code"] == "not_found"
    assert (await api.call("GET", "intruder", "/api/program/current")).status_code == 404
    mine = (await api.call("GET", "ath-1", f"/api/sessions/{session_id}")).json()["session"]
    assert mine["status"] == "pending"
    anonymous = await api.client.get(f"/api/sessions/{session_id}")
    assert anonymous.status_code == 401


async def test_a_goal_too_close_or_a_malformed_answer_is_refused_and_changes_nothing(api: Api) -> None:
    soon = {**GOAL, "event_date": (TODAY + timedelta(weeks=7)).isoformat()}
    refused = await api.call("POST", "ath-1", "/api/onboarding/goal", soon)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["field"] == "event_date"
    sprint = await api.call("POST", "ath-1", "/api/onboarding/goal", {**GOAL, "distance_type": "sprint"})
    assert sprint.status_code == 400
    assert sprint.json()["error"]["code"] == "validation_error"
    clash = {**AVAILABILITY, "preferred_long_day": 0}
    assert (await api.call("POST", "ath-1", "/api/onboarding/availability", clash)).status_code == 400
    bad_slot = {**CONSTRAINTS, "pool_schedule": {"monday": ["21:00-19:00"]}}
    assert (await api.call("POST", "ath-1", "/api/onboarding/constraints", bad_slot)).status_code == 400

    status = (await api.call("GET", "ath-1", "/api/onboarding/status")).json()
    assert not any(step["completed"] for name, step in status["steps"].items() if name != "strava_analysis")
    early = await api.call("POST", "ath-1", "/api/onboarding/complete", {})
    assert early.status_code == 409
    assert early.json()["error"]["details"]["missing_steps"] == ["goal", "availability"]
    assert await api.events() == Counter()


async def test_completing_the_onboarding_again_replaces_the_active_program(api: Api) -> None:
    first = await onboard(api, "ath-1")
    second = await onboard(api, "ath-1")
    assert second["id"] != first["id"]
    assert (await api.call("GET", "ath-1", "/api/program/current")).json()["program"]["id"] == second["id"]
    old = (await api.call("GET", "ath-1", f"/api/program/{first['id']}")).json()["program"]
    assert old["status"] == "replaced"
    assert (await api.events())["planning.program.ended"] == 1


async def test_scheduled_sessions_tell_export_the_thresholds_their_targets_came_from(api: Api) -> None:
    await onboard(api, "ath-1")

    async with api.sessionmaker() as session:
        statement = select(OutboxMessage.payload).where(
            OutboxMessage.event_type == "planning.session.scheduled"
        )
        payloads = (await session.exec(statement)).all()

    thresholds = {json.dumps(payload["data"]["thresholds"], sort_keys=True) for payload in payloads}
    assert len(thresholds) == 1  # the same for every session of the program
    told = payloads[0]["data"]["thresholds"]
    assert (told["max_hr"], told["ftp_w"]) == (188, 240)  # the onboarding's manual values
