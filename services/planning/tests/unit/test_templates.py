"""The built-in template library and the choice of a template for an athlete."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.domain import PHASES, DistanceType, Level, PhaseTemplate, Template
from planning.templates import DISTANCES, LENGTHS_WEEKS, LEVELS, builtin_templates, recommend_template

TEMPLATES = builtin_templates()
BY_ID = {t.id: t for t in TEMPLATES}


def phase(template: Template, name: str) -> PhaseTemplate:
    return next(p for p in template.phases if p.name == name)


def test_the_library_has_one_template_per_distance_level_and_length() -> None:
    assert len(TEMPLATES) == 30
    combinations = {(t.distance_type, t.level, t.duration_weeks) for t in TEMPLATES}
    assert combinations == {(d, lvl, w) for d in DISTANCES for lvl in LEVELS for w in LENGTHS_WEEKS}
    assert len(BY_ID) == 30
    assert len({t.slug for t in TEMPLATES}) == 30


def test_ids_names_and_slugs_follow_the_product_contract() -> None:
    ironman = BY_ID["tpl_im_int_24"]
    assert ironman.name == "Ironman 24 semaines - Intermédiaire"
    assert ironman.slug == "ironman-24-weeks-intermediate"
    half = BY_ID["tpl_703_beg_12"]
    assert half.name == "Half Ironman 12 semaines - Débutant"
    assert half.slug == "half-ironman-12-weeks-beginner"
    assert BY_ID["tpl_703_adv_30"].name == "Half Ironman 30 semaines - Avancé"


def test_weekly_hours_grow_with_the_level_and_the_distance() -> None:
    hours = {(t.distance_type, t.level): (t.weekly_hours_min, t.weekly_hours_max) for t in TEMPLATES}
    assert hours[("70.3", "beginner")] == (6, 9)
    assert hours[("70.3", "intermediate")] == (8, 12)
    assert hours[("70.3", "advanced")] == (10, 15)
    assert hours[("ironman", "beginner")] == (9, 13)
    assert hours[("ironman", "intermediate")] == (12, 16)
    assert hours[("ironman", "advanced")] == (14, 20)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_every_template_describes_the_five_phases_in_order(template: Template) -> None:
    assert tuple(p.name for p in template.phases) == PHASES
    assert sum(p.share for p in template.phases if p.name != "Taper") == pytest.approx(1.0)
    assert phase(template, "Taper").share == 0
    for p in template.phases:
        assert sum(p.sport_split.values()) == pytest.approx(1.0)
        assert set(p.sport_split) == {"swim", "bike", "run"}
    assert template.description


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_the_bike_takes_most_of_the_time_and_grows_toward_the_peak_as_the_swim_shrinks(
    template: Template,
) -> None:
    base, peak = phase(template, "Base"), phase(template, "Peak")
    for p in template.phases:
        assert p.sport_split["bike"] == max(p.sport_split.values())
    assert peak.sport_split["bike"] > base.sport_split["bike"]
    assert peak.sport_split["swim"] < base.sport_split["swim"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_intensity_rises_from_base_to_peak_and_stays_a_minority_of_the_time(template: Template) -> None:
    intensities = [phase(template, name).intensity for name in ("Base", "Build 1", "Build 2", "Peak")]
    assert intensities == sorted(intensities)
    assert intensities[0] < intensities[-1]
    # Polarized or pyramidal: at least three quarters of the training stays easy.
    assert all(0 < p.intensity <= 0.25 for p in template.phases)
    assert phase(template, "Taper").intensity > phase(template, "Base").intensity


def test_an_ironman_is_trained_with_less_intensity_than_a_half() -> None:
    for level in LEVELS:
        half, full = BY_ID[f"tpl_703_{level[:3]}_24"], BY_ID[f"tpl_im_{level[:3]}_24"]
        assert phase(full, "Peak").intensity < phase(half, "Peak").intensity


def test_tapers_are_one_to_two_weeks_for_a_half_and_two_to_three_for_an_ironman() -> None:
    for t in TEMPLATES:
        allowed = (1, 2) if t.distance_type == "70.3" else (2, 3)
        assert t.taper_weeks in allowed, t.id
    # A longer program never tapers less than a shorter one of the same kind.
    for distance in DISTANCES:
        for level in LEVELS:
            tapers = [t.taper_weeks for t in TEMPLATES if (t.distance_type, t.level) == (distance, level)]
            assert tapers == sorted(tapers)
    assert BY_ID["tpl_im_int_24"].taper_weeks == 2


def test_beginners_and_intermediates_unload_every_fourth_week_and_advanced_ironman_every_third() -> None:
    for t in TEMPLATES:
        if t.level != "advanced":
            assert t.recovery_every == 4
    assert BY_ID["tpl_im_adv_24"].recovery_every == 3
    assert BY_ID["tpl_703_adv_24"].recovery_every in (3, 4)


def test_beginners_build_a_longer_base_and_advanced_athletes_a_longer_build() -> None:
    beginner, advanced = BY_ID["tpl_im_beg_24"], BY_ID["tpl_im_adv_24"]
    assert phase(beginner, "Base").share > phase(advanced, "Base").share
    assert phase(advanced, "Build 2").share > phase(beginner, "Build 2").share


def test_more_experienced_athletes_train_more_often() -> None:
    for distance in DISTANCES:
        by_level = {
            t.level: sum(t.sessions_per_week.values()) for t in TEMPLATES if t.distance_type == distance
        }
        assert by_level["beginner"] <= by_level["intermediate"] <= by_level["advanced"]
        assert by_level["beginner"] < by_level["advanced"]


def test_the_seed_athlete_with_24_weeks_gets_the_24_week_intermediate_ironman() -> None:
    assert recommend_template(TEMPLATES, "ironman", "intermediate", 24).id == "tpl_im_int_24"


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        (12, "tpl_703_beg_12"),
        (15, "tpl_703_beg_12"),
        (16, "tpl_703_beg_16"),
        (29, "tpl_703_beg_24"),
        (52, "tpl_703_beg_30"),
    ],
)
def test_the_longest_template_that_fits_the_weeks_left_is_recommended(weeks: int, expected: str) -> None:
    assert recommend_template(TEMPLATES, "70.3", "beginner", weeks).id == expected


def test_with_fewer_weeks_than_the_shortest_template_the_shortest_is_recommended() -> None:
    assert recommend_template(TEMPLATES, "ironman", "advanced", 9).id == "tpl_im_adv_12"


def test_the_recommendation_keeps_the_goal_distance_and_the_athlete_level() -> None:
    chosen = recommend_template(TEMPLATES, "70.3", "advanced", 20)
    assert (chosen.distance_type, chosen.level) == ("70.3", "advanced")


def test_no_template_for_the_distance_and_level_is_an_error() -> None:
    halves_only = [t for t in TEMPLATES if t.distance_type == "70.3"]
    with pytest.raises(LookupError):
        recommend_template(halves_only, "ironman", "beginner", 20)


def test_the_recommendation_does_not_depend_on_the_order_of_the_templates() -> None:
    copy = replace(BY_ID["tpl_im_int_24"], id="tpl_custom_24", slug="custom")
    templates = [*TEMPLATES, copy]
    assert recommend_template(templates, "ironman", "intermediate", 25) == recommend_template(
        list(reversed(templates)), "ironman", "intermediate", 25
    )


@settings(max_examples=200, deadline=None)
@given(
    distance=st.sampled_from(DISTANCES),
    level=st.sampled_from(LEVELS),
    weeks=st.integers(min_value=1, max_value=80),
)
def test_a_recommended_template_is_never_longer_than_the_weeks_left_unless_it_is_the_shortest(
    distance: DistanceType, level: Level, weeks: int
) -> None:
    chosen = recommend_template(TEMPLATES, distance, level, weeks)
    assert (chosen.distance_type, chosen.level) == (distance, level)
    if weeks >= min(LENGTHS_WEEKS):
        assert chosen.duration_weeks <= weeks
        assert not any(
            chosen.duration_weeks < t.duration_weeks <= weeks
            for t in TEMPLATES
            if (t.distance_type, t.level) == (distance, level)
        )
    else:
        assert chosen.duration_weeks == min(LENGTHS_WEEKS)
