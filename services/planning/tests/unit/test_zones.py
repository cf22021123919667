"""Training zones and targets from an athlete's thresholds, checked on a realistic athlete (max HR 185,
FTP 250 W, threshold pace 4:30/km, CSS 1:45/100m) and over any thresholds."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.domain import Sport, Thresholds
from planning.zones import (
    ZONES,
    format_pace,
    format_pace_range,
    heart_rate_zones,
    power_zones,
    run_speed_zones,
    run_threshold_speed,
    swim_speed_zones,
    target_for,
)

ATHLETE = Thresholds(max_hr=185, ftp_w=250, threshold_pace_s_per_km=270, css_s_per_100m=105)


def pace_range(zones: dict[int, tuple[float, float]], zone: int, sport: Sport) -> str:
    return format_pace_range(*zones[zone], sport)


def test_heart_rate_zones_are_shares_of_max_heart_rate_in_whole_beats() -> None:
    assert heart_rate_zones(185) == {
        1: (93, 111),
        2: (111, 130),
        3: (130, 148),
        4: (148, 167),
        5: (167, 185),
    }


def test_power_zones_follow_coggan_levels_of_ftp() -> None:
    zones = power_zones(250)

    assert zones[2] == (140, 188)
    assert zones[3] == (190, 225)
    assert zones[4] == (228, 263)
    assert zones[5] == (265, 300)
    assert zones[1][1] == 138


def test_run_zones_put_threshold_pace_in_zone_4_and_easy_running_in_zone_2() -> None:
    zones = run_speed_zones(1000 / 270)

    assert pace_range(zones, 4, "run") == "4:25-4:44/km"
    assert pace_range(zones, 2, "run") == "5:07-5:46/km"
    assert pace_range(zones, 5, "run") == "3:55-4:25/km"
    assert zones[4][0] < 1000 / 270 < zones[4][1]


def test_threshold_running_speed_comes_from_the_pace_before_vma() -> None:
    both = Thresholds(threshold_pace_s_per_km=270, vma_kmh=20)

    assert run_threshold_speed(both) == pytest.approx(1000 / 270)


def test_threshold_running_speed_is_estimated_at_86_percent_of_vma_when_the_pace_is_unknown() -> None:
    speed = run_threshold_speed(Thresholds(vma_kmh=18))

    assert speed == pytest.approx(18 / 3.6 * 0.86)
    assert format_pace(speed or 0, "run") == "3:53/km"


def test_threshold_running_speed_is_unknown_without_pace_or_vma() -> None:
    assert run_threshold_speed(Thresholds(max_hr=185)) is None


def test_swim_zones_put_css_in_zone_4_and_aerobic_sets_a_few_seconds_slower() -> None:
    zones = swim_speed_zones(105)

    assert pace_range(zones, 4, "swim") == "1:43-1:47/100m"
    assert pace_range(zones, 2, "swim") == "1:52-1:58/100m"
    assert zones[4][0] < 100 / 105 < zones[4][1]


def test_a_bike_target_is_power_when_ftp_is_known() -> None:
    target = target_for("bike", 2, ATHLETE)

    assert target is not None
    assert (target.kind, target.low, target.high, target.zone) == ("power", 140, 188, 2)


def test_a_bike_target_falls_back_on_heart_rate_without_ftp() -> None:
    target = target_for("bike", 4, Thresholds(max_hr=185))

    assert target is not None
    assert (target.kind, target.low, target.high, target.zone) == ("heart_rate", 148, 167, 4)


def test_a_run_target_is_a_speed_from_threshold_pace_or_vma_before_heart_rate() -> None:
    from_pace = target_for("run", 4, ATHLETE)
    from_vma = target_for("run", 4, Thresholds(max_hr=185, vma_kmh=18))
    from_heart = target_for("run", 4, Thresholds(max_hr=185))

    assert from_pace is not None
    assert from_vma is not None
    assert from_heart is not None
    assert (from_pace.kind, from_vma.kind, from_heart.kind) == ("speed", "speed", "heart_rate")
    assert format_pace_range(from_pace.low, from_pace.high, "run") == "4:25-4:44/km"


def test_a_swim_target_is_a_speed_from_css_and_never_heart_rate() -> None:
    target = target_for("swim", 4, ATHLETE)

    assert target is not None
    assert target.kind == "speed"
    assert target_for("swim", 4, Thresholds(max_hr=185, ftp_w=250)) is None


def test_there_is_no_target_when_nothing_is_known() -> None:
    assert all(target_for(sport, 2, Thresholds()) is None for sport in ("swim", "bike", "run"))


@pytest.mark.parametrize("zone", [0, 6])
def test_a_zone_outside_1_to_5_is_refused(zone: int) -> None:
    with pytest.raises(ValueError, match="zone"):
        target_for("run", zone, ATHLETE)


@pytest.mark.parametrize("bad", [0, -10])
def test_zones_are_refused_for_a_threshold_that_is_not_positive(bad: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        heart_rate_zones(bad)
    with pytest.raises(ValueError, match="positive"):
        power_zones(bad)
    with pytest.raises(ValueError, match="positive"):
        swim_speed_zones(bad)


def test_paces_read_as_minutes_and_seconds_per_km_or_per_100_m() -> None:
    assert format_pace(1000 / 245, "run") == "4:05/km"
    assert format_pace(100 / 105, "swim") == "1:45/100m"
    assert format_pace(1000 / 299.6, "run") == "5:00/km"


def test_a_pace_range_reads_faster_pace_first() -> None:
    assert format_pace_range(1000 / 235, 1000 / 225, "run") == "3:45-3:55/km"
    assert format_pace_range(1000 / 225, 1000 / 235, "run") == "3:45-3:55/km"


def test_a_cycling_speed_is_not_given_as_a_pace() -> None:
    with pytest.raises(ValueError, match="km/h"):
        format_pace(9.0, "bike")


def assert_ordered_zones(zones: dict[int, tuple[float, float]], *, touching: bool) -> None:
    assert tuple(zones) == ZONES
    for zone in ZONES:
        low, high = zones[zone]
        assert 0 < low <= high
        if zone > 1:
            previous_high = zones[zone - 1][1]
            assert low == previous_high if touching else low >= previous_high


@given(max_hr=st.integers(min_value=100, max_value=230))
def test_heart_rate_zones_are_ordered_and_touch_whatever_the_max_heart_rate(max_hr: int) -> None:
    zones = heart_rate_zones(max_hr)

    assert_ordered_zones(dict(zones), touching=True)
    assert zones[5][1] == max_hr


@given(ftp=st.integers(min_value=60, max_value=500))
def test_power_zones_are_ordered_whatever_the_ftp(ftp: int) -> None:
    zones = power_zones(ftp)

    assert_ordered_zones(dict(zones), touching=False)
    assert zones[4][0] <= ftp <= zones[4][1]


@given(pace=st.integers(min_value=150, max_value=600))
def test_run_zones_are_ordered_and_hold_the_threshold_in_zone_4(pace: int) -> None:
    zones = run_speed_zones(1000 / pace)

    assert_ordered_zones(zones, touching=True)
    assert zones[4][0] <= 1000 / pace <= zones[4][1]


@given(css=st.integers(min_value=55, max_value=300))
def test_swim_zones_are_ordered_and_hold_css_in_zone_4(css: int) -> None:
    zones = swim_speed_zones(css)

    assert_ordered_zones(zones, touching=True)
    assert zones[4][0] <= 100 / css <= zones[4][1]


@given(seconds=st.integers(min_value=40, max_value=900), sport=st.sampled_from(["run", "swim"]))
def test_a_pace_reads_back_as_the_seconds_it_came_from(seconds: int, sport: Sport) -> None:
    unit = 1000 if sport == "run" else 100
    text = format_pace(unit / seconds, sport)
    minutes, rest = text.split("/")[0].split(":")

    assert int(minutes) * 60 + int(rest) == seconds
    assert len(rest) == 2


thresholds = st.builds(
    Thresholds,
    max_hr=st.none() | st.integers(min_value=120, max_value=220),
    ftp_w=st.none() | st.integers(min_value=80, max_value=450),
    threshold_pace_s_per_km=st.none() | st.integers(min_value=180, max_value=480),
    vma_kmh=st.none() | st.floats(min_value=8, max_value=25),
    css_s_per_100m=st.none() | st.integers(min_value=60, max_value=240),
)


@given(sport=st.sampled_from(["swim", "bike", "run"]), zone=st.sampled_from(ZONES), known=thresholds)
def test_a_target_holds_its_zone_with_the_best_kind_the_data_allows(
    sport: Sport, zone: int, known: Thresholds
) -> None:
    target = target_for(sport, zone, known)
    has_run_speed = known.threshold_pace_s_per_km is not None or known.vma_kmh is not None
    expected = {
        "bike": "power" if known.ftp_w else "heart_rate" if known.max_hr else None,
        "run": "speed" if has_run_speed else "heart_rate" if known.max_hr else None,
        "swim": "speed" if known.css_s_per_100m else None,
    }[sport]

    assert (target.kind if target else None) == expected
    if target is not None:
        assert target.zone == zone
        assert target.low <= target.high
