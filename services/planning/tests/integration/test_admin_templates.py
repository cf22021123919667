"""The template library's administration (seed 001, section Admin) against the real database: who may
read and change it, what a refused template leaves behind (nothing), and that new athletes get the
templates admins add until they are retired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from planning.library import definition_record
from planning.models import ProgramTemplate
from planning.templates import builtin_templates
from relay_testing.identity import FakeIdentity

from .conftest import PlanningApi

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
EVENT = TODAY + timedelta(weeks=26)  # 25 to 27 weeks from the program's first Monday
TEMPLATES = "/api/admin/templates"


@dataclass
class Api:
    client: httpx.AsyncClient
    identity: FakeIdentity
    sessionmaker: async_sessionmaker[AsyncSession]

    async def admin(
        self, method: str, path: str, body: Any = None, *, role: str = "super_admin", csrf: bool = True
    ) -> httpx.Response:
        headers = self.identity.admin_headers("adm_1", role, csrf=csrf)
        return await self.client.request(method, path, json=body, headers=headers)

    async def athlete(self, method: str, user_id: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.identity.bearer(user_id))

    async def listed(self) -> dict[str, dict[str, Any]]:
        answer = await self.admin("GET", TEMPLATES, role="read_only")
        assert answer.status_code == 200, answer.text
        return {template["id"]: template for template in answer.json()["templates"]}

    async def stored(self) -> int:
        async with self.sessionmaker() as session:
            return (await session.exec(select(func.count()).select_from(ProgramTemplate))).one()


@pytest.fixture
def api(planning_api: PlanningApi, sessionmaker: async_sessionmaker[AsyncSession]) -> Api:
    return Api(client=planning_api.client, identity=planning_api.identity, sessionmaker=sessionmaker)


BUILTIN = next(t for t in builtin_templates() if t.id == "tpl_im_beg_24")
# An Ironman plan for beginners one week longer than the built-in 24-week one: the better fit for an
# athlete (no level told yet: planned as a beginner) racing 25 to 27 weeks after their first Monday.
TEMPLATE = {
    "name": "Ironman 25 semaines - Débutant",
    "distance_type": "ironman",
    "experience_level": "beginner",
    "duration_weeks": 25,
    "weekly_hours_min": 9,
    "weekly_hours_max": 12,
    "description": "Une semaine de base de plus, un volume plafonné à 12 h.",
    **definition_record(BUILTIN),
}
GOAL = {"event_name": "Ironman Nice", "event_date": EVENT.isoformat(), "distance_type": "ironman"}
AVAILABILITY = {"weekly_hours": 14, "unavailable_days": [0, 3], "preferred_long_day": 6}
CONSTRAINTS = {"pool_access": True, "home_trainer": True, "outdoor_bike_only": False}


async def onboard(api: Api, user_id: str) -> dict[str, Any]:
    for path, body in (("goal", GOAL), ("availability", AVAILABILITY), ("constraints", CONSTRAINTS)):
        answer = await api.athlete("POST", user_id, f"/api/onboarding/{path}", body)
        assert answer.status_code == 200, answer.text
    completed = await api.athlete("POST", user_id, "/api/onboarding/complete", {"target_time": 39600})
    assert completed.status_code == 200, completed.text
    program: dict[str, Any] = completed.json()["program"]
    return program


async def test_only_operators_see_the_library_and_only_super_admins_with_their_csrf_token_change_it(
    api: Api,
) -> None:
    anonymous = await api.client.get(TEMPLATES)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    athlete = await api.athlete("GET", "ath-1", TEMPLATES)
    assert athlete.status_code == 401  # an access token is not an admin session
    athlete_cookie = {"Cookie": f"admin_session={api.identity.access_token('ath-1')}"}
    assert (await api.client.get(TEMPLATES, headers=athlete_cookie)).status_code == 401

    library = await api.listed()
    assert len(library) == len(builtin_templates())
    assert library["tpl_im_int_24"] == {
        "id": "tpl_im_int_24",
        "name": "Ironman 24 semaines - Intermédiaire",
        "slug": "ironman-24-weeks-intermediate",
        "distance_type": "ironman",
        "experience_level": "intermediate",
        "duration_weeks": 24,
        "weekly_hours_min": 12,
        "weekly_hours_max": 16,
        "description": library["tpl_im_int_24"]["description"],
        "builtin": True,
        "is_active": True,
        "usage_count": 0,
    }

    for role in ("read_only", "support"):
        refused = await api.admin("POST", TEMPLATES, TEMPLATE, role=role)
        assert refused.status_code == 403, role
        assert refused.json()["error"]["code"] == "forbidden"
    without_csrf = await api.admin("POST", TEMPLATES, TEMPLATE, csrf=False)
    assert without_csrf.status_code == 403
    assert without_csrf.json()["error"]["details"] == {"header": "X-CSRF-Token"}
    read_only_patch = await api.admin("PATCH", f"{TEMPLATES}/tpl_x", {"is_active": False}, role="read_only")
    assert read_only_patch.status_code == 403
    assert await api.stored() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phases": TEMPLATE["phases"][:4]}, "phases"),
        ({"week_templates": {**TEMPLATE["week_templates"], "taper_weeks": 5}}, "week_templates.taper_weeks"),
        ({"weekly_hours_min": 12}, "body"),
        ({"distance_type": "sprint"}, "distance_type"),
    ],
    ids=["a-phase-missing", "a-five-week-taper", "no-hours-range", "a-sprint"],
)
async def test_a_template_generation_could_not_honour_is_refused_and_nothing_is_stored(
    api: Api, change: dict[str, Any], field: str
) -> None:
    refused = await api.admin("POST", TEMPLATES, {**TEMPLATE, **change})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == field
    assert await api.stored() == 0


async def test_an_added_template_is_listed_chosen_for_new_athletes_and_no_longer_once_retired(
    api: Api,
) -> None:
    created = await api.admin("POST", TEMPLATES, TEMPLATE)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["success"] is True
    assert answer["template"]["slug"] == "ironman-25-weeks-beginner"
    template_id = answer["template"]["id"]
    assert template_id.startswith("tpl_")

    listed = (await api.listed())[template_id]
    assert listed["name"] == TEMPLATE["name"]
    assert (listed["duration_weeks"], listed["weekly_hours_max"]) == (25, 12)
    assert (listed["builtin"], listed["is_active"], listed["usage_count"]) == (False, True, 0)

    again = await api.admin("POST", TEMPLATES, {**TEMPLATE, "name": "Another name"})
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {"slug": "ironman-25-weeks-beginner"}
    builtin_slug = await api.admin("POST", TEMPLATES, {**TEMPLATE, "duration_weeks": 24})
    assert builtin_slug.status_code == 409
    assert builtin_slug.json()["error"]["code"] == "conflict"
    assert await api.stored() == 1

    program = await onboard(api, "ath-1")
    assert program["template_id"] == template_id
    week = (await api.athlete("GET", "ath-1", f"/api/program/{program['id']}/week/10")).json()["week"]
    assert sum(s["duration_planned"] for s in week["sessions"]) <= 12 * 60  # the template's cap
    library = await api.listed()
    assert library[template_id]["usage_count"] == 1
    assert library[BUILTIN.id]["usage_count"] == 0

    retired = await api.admin("PATCH", f"{TEMPLATES}/{template_id}", {"is_active": False})
    assert retired.status_code == 200, retired.text
    assert retired.json() == {
        "success": True,
        "template": {"id": template_id, "slug": "ironman-25-weeks-beginner", "is_active": False},
    }
    assert (await onboard(api, "ath-2"))["template_id"] == BUILTIN.id
    library = await api.listed()
    assert (library[template_id]["is_active"], library[template_id]["usage_count"]) == (False, 1)
    assert library[BUILTIN.id]["usage_count"] == 1

    restored = await api.admin("PATCH", f"{TEMPLATES}/{template_id}", {"is_active": True})
    assert restored.json()["template"]["is_active"] is True
    assert (await onboard(api, "ath-3"))["template_id"] == template_id


async def test_built_in_templates_cannot_be_retired_and_unknown_ones_are_not_found(api: Api) -> None:
    builtin = await api.admin("PATCH", f"{TEMPLATES}/{BUILTIN.id}", {"is_active": False})
    assert builtin.status_code == 409
    assert builtin.json()["error"]["message"] == "Built-in templates cannot be changed"
    unknown = await api.admin("PATCH", f"{TEMPLATES}/tpl_unknown", {"is_active": False})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    bad = await api.admin("PATCH", f"{TEMPLATES}/{BUILTIN.id}", {"is_active": "maybe"})
    assert bad.status_code == 400
    assert (await api.listed())[BUILTIN.id]["is_active"] is True
