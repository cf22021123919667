"""The template library: what an admin's template is stored as, which ones are refused, and that any
accepted one makes a program as sound as the built-in templates do."""

import json
from copy import deepcopy
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from planning.admin_schemas import TemplateCreateRequest
from planning.domain import PHASES, Availability, Constraints, Goal, PlanInputs, Template, Thresholds
from planning.generation import generate_program
from planning.library import definition_record, row_of, slug_of, template_from_request, template_of
from planning.periodization import program_weeks
from planning.templates import builtin_templates, recommend_template

from .program_checks import assert_volume_holds

START = date(2025, 3, 24)  # a Monday


def body_of(template: Template) -> dict[str, Any]:
    """The creation request an admin would send for `template`."""
    return {
        "name": template.name,
        "distance_type": template.distance_type,
        "experience_level": template.level,
        "duration_weeks": template.duration_weeks,
        "weekly_hours_min": template.weekly_hours_min,
        "weekly_hours_max": template.weekly_hours_max,
        "description": template.description,
        **definition_record(template),
    }


def custom(body: dict[str, Any], template_id: str = "tpl_custom") -> Template:
    return template_from_request(TemplateCreateRequest.model_validate(body), template_id)


SEED_BODY = {
    **body_of(next(t for t in builtin_templates() if t.id == "tpl_703_beg_12")),
    "name": "Half Ironman 14 semaines - Débutant",
    "duration_weeks": 14,
    "weekly_hours_min": 8,
    "weekly_hours_max": 12,
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """SEED_BODY with the value at `path` (`phases.0.share`, `week_templates.taper_weeks`) replaced."""
    body = deepcopy(SEED_BODY)
    *parents, last = path.split(".")
    target: Any = body
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize("template", builtin_templates(), ids=lambda t: t.id)
def test_a_template_survives_its_row_and_json_unchanged(template: Template) -> None:
    row = row_of(template)
    row.definition = json.loads(json.dumps(row.definition))
    assert template_of(row) == template
    assert (row.builtin, row.is_active) == (False, True)


@pytest.mark.parametrize("template", builtin_templates(), ids=lambda t: t.id)
def test_every_built_in_template_would_be_accepted_from_an_admin(template: Template) -> None:
    assert custom(body_of(template), template.id) == template
    assert slug_of(template.distance_type, template.level, template.duration_weeks) == template.slug


def test_a_custom_template_gets_the_seeds_slug_and_its_phases_in_the_programs_order() -> None:
    body = deepcopy(SEED_BODY)
    body["phases"].reverse()
    template = custom(body)
    assert template.slug == "half-ironman-14-weeks-beginner"
    assert tuple(p.name for p in template.phases) == PHASES
    assert template.sessions_per_week == {"swim": 2, "bike": 3, "run": 3}


TAPER_PHASE = 4
REFUSED = {
    "a phase missing": changed("phases", SEED_BODY["phases"][:4]),
    "a phase twice": changed("phases", [*SEED_BODY["phases"][:4], SEED_BODY["phases"][0]]),
    "an unknown phase": changed("phases.0.name", "Off-season"),
    "a share for the taper": changed(f"phases.{TAPER_PHASE}.share", 0.1),
    "a phase without weeks": changed("phases.3.share", 0),
    "shares not summing to 1": changed("phases.0.share", 0.6),
    "a split not summing to 1": changed("phases.0.sport_split.bike", 0.6),
    "a sport left out": changed("phases.1.sport_split", {"swim": 0.0, "bike": 0.6, "run": 0.4}),
    "a sport missing": changed("phases.1.sport_split", {"bike": 0.6, "run": 0.4}),
    "mostly hard training": changed("phases.3.intensity", 0.4),
    "a four-week taper": changed("week_templates.taper_weeks", 4),
    "no taper": changed("week_templates.taper_weeks", 0),
    "no lighter weeks": changed("week_templates.recovery_every", 8),
    "every week lighter": changed("week_templates.recovery_every", 1),
    "no run": changed("week_templates.sessions_per_week.run", 0),
    "more swims than a week offers": changed("week_templates.sessions_per_week.swim", 5),
    "hours the wrong way round": changed("weekly_hours_min", 13),
    "equal hours": changed("weekly_hours_min", 12),
    "too few weeks": changed("duration_weeks", 7),
    "too many weeks": changed("duration_weeks", 53),
    "a sprint": changed("distance_type", "sprint"),
    "an unknown level": changed("experience_level", "elite"),
    "an empty name": changed("name", ""),
    "an unknown field": changed("visibility", "public"),
}


@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
def test_a_template_generation_could_not_honour_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TemplateCreateRequest.model_validate(body)


def test_a_custom_template_that_fits_the_weeks_better_is_chosen_whatever_the_order() -> None:
    template = custom(changed("experience_level", "beginner"))
    library = [*builtin_templates(), template]
    assert recommend_template(library, "70.3", "beginner", 15).id == "tpl_custom"
    assert recommend_template(reversed(library), "70.3", "beginner", 15).id == "tpl_custom"
    assert recommend_template(library, "70.3", "beginner", 13).id == "tpl_703_beg_12"
    assert recommend_template(library, "70.3", "intermediate", 15).id == "tpl_703_int_12"


# Any accepted template, any valid answers


@st.composite
def custom_templates(draw: st.DrawFn) -> Template:
    shares = [draw(st.integers(1, 10)) for _ in range(4)]
    phases = []
    for name, share in zip(PHASES, [*shares, 0], strict=True):
        swim = draw(st.integers(10, 30)) / 100
        run = draw(st.integers(10, 45)) / 100
        phases.append(
            {
                "name": name,
                "share": share / sum(shares),
                "sport_split": {"swim": swim, "bike": round(1 - swim - run, 2), "run": run},
                "intensity": draw(st.integers(0, 25)) / 100,
            }
        )
    low = draw(st.integers(3, 20))
    body = {
        "name": "Custom",
        "distance_type": draw(st.sampled_from(["70.3", "ironman"])),
        "experience_level": draw(st.sampled_from(["beginner", "intermediate", "advanced"])),
        "duration_weeks": draw(st.integers(8, 52)),
        "weekly_hours_min": low,
        "weekly_hours_max": draw(st.integers(low + 1, 30)),
        "phases": draw(st.permutations(phases)),
        "week_templates": {
            "taper_weeks": draw(st.integers(1, 3)),
            "recovery_every": draw(st.integers(2, 5)),
            "sessions_per_week": {
                "swim": draw(st.integers(1, 4)),
                "bike": draw(st.integers(1, 5)),
                "run": draw(st.integers(1, 5)),
            },
        },
    }
    return custom(body)


@st.composite
def plans(draw: st.DrawFn) -> tuple[Template, PlanInputs]:
    template = draw(custom_templates())
    start = START + timedelta(weeks=draw(st.integers(0, 52)))
    event = start + timedelta(weeks=draw(st.integers(8, 40)) - 1, days=draw(st.integers(0, 6)))
    inputs = PlanInputs(
        goal=Goal(template.distance_type, event),
        level=template.level,
        availability=Availability(
            weekly_hours=draw(st.integers(8, 50)) / 2,
            unavailable_days=draw(st.frozensets(st.integers(0, 6), max_size=4)),
            preferred_long_day=draw(st.integers(0, 6)),
        ),
        constraints=Constraints(pool_access=draw(st.booleans()), home_trainer=draw(st.booleans())),
        thresholds=Thresholds(max_hr=185, ftp_w=250, threshold_pace_s_per_km=270, css_s_per_100m=105),
        start_date=start,
    )
    return template, inputs


@settings(max_examples=80, deadline=None)
@given(plans())
def test_a_program_from_any_accepted_template_keeps_the_built_in_programs_invariants(
    plan: tuple[Template, PlanInputs],
) -> None:
    template, inputs = plan
    program = generate_program(template, inputs)
    assert program == generate_program(template, inputs)
    assert program.template_id == template.id

    # Phases in order, contiguous, covering every week; a base, a build and a taper always.
    assert program.total_weeks == program_weeks(inputs.start_date, inputs.goal.event_date)
    names = [p.name for p in program.phases]
    assert names == [p for p in PHASES if p in names]
    assert {"Base", "Build 1", "Taper"} <= set(names)
    assert program.phases[0].first_week == 1 and program.phases[-1].last_week == program.total_weeks
    assert all(b.first_week == a.last_week + 1 for a, b in pairwise(program.phases))

    # The athlete's hours and the template's maximum are never exceeded; the taper unloads.
    assert_volume_holds(program, min(inputs.availability.weekly_hours, template.weekly_hours_max) * 60)

    # Sessions on available days, before race day, of sensible lengths, as many as the template asks.
    for week in program.weeks:
        for s in week.sessions:
            assert week.start_date <= s.date < week.start_date + timedelta(days=7)
            assert inputs.start_date <= s.date < inputs.goal.event_date
            assert s.day_of_week not in inputs.availability.unavailable_days
            assert s.duration_minutes >= 20
            assert s.sport != "swim" or (inputs.constraints.pool_access and 30 <= s.duration_minutes <= 90)
        for sport, most in template.sessions_per_week.items():
            assert sum(s.sport == sport and s.session_type != "brick_run" for s in week.sessions) <= most
