"""Training load: how much stress one activity put on the athlete (TSS and its per-sport variants), and
how fitness, fatigue and form follow from the daily sums (the Performance Manager Chart).

Every score is on the TSS scale: one hour at threshold intensity is 100, whatever the sport, so a
swim, a ride and a run can be added into one daily load."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from planning.domain import Thresholds
from relay_contracts.events.ingestion import ActivityUpserted

ActivitySport = Literal["swim", "bike", "run", "other"]
StressMethod = Literal["power", "pace", "heart_rate", "duration"]

# Lactate threshold heart rate sits near 89% of maximum heart rate in trained endurance athletes; it is
# the usual estimate when no threshold test exists.
THRESHOLD_HR_SHARE_OF_MAX = 0.89
# A typical resting heart rate for a trained amateur. Heart-rate reserve needs one and athletes rarely
# enter it; because the same value is used for the activity and for the threshold hour it is normalised
# against, an error of ±10 bpm moves the score by a few percent only.
ASSUMED_RESTING_HR = 50.0
# Banister's TRIMP weighting (the coefficient published for men; the one for women, 1.67, changes a
# threshold-normalised score by a few percent only).
TRIMP_WEIGHT = 1.92
# The run threshold (about the one-hour race pace) is close to 85% of maximal aerobic speed for trained
# runners; it stands in for the threshold pace when only VMA is known.
THRESHOLD_SHARE_OF_VMA = 0.85
# Grade adjustment of run pace. Only the total climb is known, and most training runs come back to where
# they started, so each metre climbed is also descended. Over such a loop Minetti's energy cost of
# running gives one metre of climb the cost of about 1.5 to 2.5 metres of flat running at usual grades.
RUN_FLAT_METRES_PER_METRE_CLIMBED = 2.0
# Even a vertical kilometre race averages less than 30% of climb over its distance; more than that is
# altimeter noise on a short or indoor run, and would inflate the score without bound.
MAX_AVERAGE_RUN_GRADE = 0.3
# Intensity factor assumed when only the duration is known: a steady aerobic session for the three
# sports, lighter for everything else (walks, hikes, strength, rowing machine, skiing...).
DURATION_ONLY_INTENSITY: dict[ActivitySport, float] = {"swim": 0.70, "bike": 0.70, "run": 0.75, "other": 0.55}

_TRAINED_SPORTS: dict[str, ActivitySport] = {"swim": "swim", "bike": "bike", "run": "run"}

CTL_DAYS = 42  # chronic training load: fitness
ATL_DAYS = 7  # acute training load: fatigue


@dataclass(frozen=True)
class ActivityFacts:
    """What a load score is computed from; anything a device did not record is None."""

    sport: ActivitySport
    moving_time_s: int
    distance_m: float | None = None
    average_hr: float | None = None
    average_power_w: float | None = None
    normalized_power_w: float | None = None
    average_speed_m_s: float | None = None
    elevation_gain_m: float | None = None

    @classmethod
    def from_event(cls, event: ActivityUpserted) -> ActivityFacts:
        """The facts of a normalized activity. Without a moving time the elapsed time is used (manual
        entries often only have that)."""
        return cls(
            sport=_TRAINED_SPORTS.get(event.sport, "other"),
            moving_time_s=event.moving_time_s or event.elapsed_time_s or 0,
            distance_m=event.distance_m,
            average_hr=event.average_heartrate,
            average_power_w=event.average_power_w,
            normalized_power_w=event.normalized_power_w,
            average_speed_m_s=event.average_speed_mps,
            elevation_gain_m=event.elevation_gain_m,
        )


@dataclass(frozen=True)
class StressScore:
    value: float  # on the TSS scale, 100 for one hour at threshold
    method: StressMethod


def training_stress(activity: ActivityFacts, thresholds: Thresholds) -> StressScore:
    """The activity's stress score, from the best data it and the athlete's thresholds allow, in this
    order: power (bike), pace (run and swim), heart rate, then duration alone.

    - power, bike with power and an FTP: TSS = hours * IF² * 100 with IF = NP / FTP, which is the usual
      `duration_s * NP * IF / (FTP * 3600) * 100`. Average power stands in for a missing NP; it is lower
      than NP on a variable ride, so the score is then a floor.
    - pace, run with a speed and a threshold pace (or VMA): rTSS = hours * IF² * 100 with IF = speed /
      threshold speed, the speed grade-adjusted when distance and climb are known.
    - pace, swim with a speed and a CSS: sTSS = hours * IF³ * 100 with IF = speed / CSS speed (water
      resistance grows with the cube of speed).
    - heart_rate, any sport with an average HR and a max HR: hrTSS = 100 * TRIMP(activity) /
      TRIMP(one hour at threshold HR), with Banister's TRIMP = minutes * r * 0.64 * e^(1.92 r), r the
      share of heart-rate reserve, and the threshold HR taken as 89% of max HR.
    - duration, otherwise: hours * IF² * 100 with a per-sport typical intensity.

    A zero or negative duration scores 0."""
    hours = activity.moving_time_s / 3600
    if hours <= 0:
        return StressScore(0.0, "duration")
    methods: tuple[tuple[StressMethod, Callable[[ActivityFacts, Thresholds], float | None]], ...] = (
        ("power", _power_score),
        ("pace", _pace_score),
        ("heart_rate", _heart_rate_score),
    )
    for method, score_per_hour in methods:
        per_hour = score_per_hour(activity, thresholds)
        if per_hour is not None:
            return StressScore(hours * per_hour, method)
    intensity = DURATION_ONLY_INTENSITY[activity.sport]
    return StressScore(hours * intensity**2 * 100, "duration")


def _power_score(activity: ActivityFacts, thresholds: Thresholds) -> float | None:
    """Stress per hour from power, or None when power cannot be used."""
    if activity.sport != "bike" or not thresholds.ftp_w or thresholds.ftp_w <= 0:
        return None
    power = _positive(activity.normalized_power_w) or _positive(activity.average_power_w)
    if power is None:
        return None
    return (power / thresholds.ftp_w) ** 2 * 100


def _pace_score(activity: ActivityFacts, thresholds: Thresholds) -> float | None:
    """Stress per hour from speed against the sport's threshold speed, or None."""
    speed = _positive(activity.average_speed_m_s)
    if speed is None and activity.distance_m is not None:
        speed = _positive(activity.distance_m / activity.moving_time_s)
    if speed is None:
        return None
    if activity.sport == "run":
        threshold = _run_threshold_speed(thresholds)
        if threshold is None:
            return None
        return (_grade_adjusted(speed, activity) / threshold) ** 2 * 100
    if activity.sport == "swim":
        if not thresholds.css_s_per_100m or thresholds.css_s_per_100m <= 0:
            return None
        return (speed / (100 / thresholds.css_s_per_100m)) ** 3 * 100
    # A bike's speed says more about wind, terrain and drafting than about effort.
    return None


def _run_threshold_speed(thresholds: Thresholds) -> float | None:
    if thresholds.threshold_pace_s_per_km and thresholds.threshold_pace_s_per_km > 0:
        return 1000 / thresholds.threshold_pace_s_per_km
    if thresholds.vma_kmh and thresholds.vma_kmh > 0:
        return thresholds.vma_kmh / 3.6 * THRESHOLD_SHARE_OF_VMA
    return None


def _grade_adjusted(speed: float, activity: ActivityFacts) -> float:
    """The flat speed of the same effort: the climb is counted as extra flat distance."""
    distance, climb = activity.distance_m, activity.elevation_gain_m
    if not distance or distance <= 0 or not climb or climb <= 0:
        return speed
    climb = min(climb, MAX_AVERAGE_RUN_GRADE * distance)
    return speed * (distance + RUN_FLAT_METRES_PER_METRE_CLIMBED * climb) / distance


def _heart_rate_score(activity: ActivityFacts, thresholds: Thresholds) -> float | None:
    """Stress per hour from average heart rate (TRIMP normalised to an hour at threshold), or None."""
    average = _positive(activity.average_hr)
    if average is None or not thresholds.max_hr or thresholds.max_hr <= ASSUMED_RESTING_HR:
        return None
    max_hr = float(thresholds.max_hr)
    threshold_hr = THRESHOLD_HR_SHARE_OF_MAX * max_hr
    # An average above the recorded max means the max is out of date; the effort was at least maximal.
    reserve = min(max(average - ASSUMED_RESTING_HR, 0.0) / (max_hr - ASSUMED_RESTING_HR), 1.0)
    threshold_reserve = (threshold_hr - ASSUMED_RESTING_HR) / (max_hr - ASSUMED_RESTING_HR)
    return _trimp_per_minute(reserve) / _trimp_per_minute(threshold_reserve) * 100


def _trimp_per_minute(reserve: float) -> float:
    return reserve * 0.64 * math.exp(TRIMP_WEIGHT * reserve)


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


@dataclass(frozen=True)
class DailyLoad:
    date: date
    stress: float  # the day's summed stress scores
    ctl: float  # fitness: chronic training load at the end of the day
    atl: float  # fatigue: acute training load at the end of the day
    tsb: float  # form: the day's starting point, yesterday's CTL minus yesterday's ATL


def fitness_series(
    daily_stress: Mapping[date, float],
    start: date,
    end: date,
    *,
    ctl_seed: float = 0,
    atl_seed: float = 0,
) -> list[DailyLoad]:
    """One DailyLoad per day from `start` to `end` inclusive (empty when `end` is before `start`); days
    missing from `daily_stress` are rest days. The seeds are CTL and ATL at the end of the day before
    `start`.

    CTL and ATL are exponentially weighted averages in Coggan's first-order form:
    `load_today = load_yesterday + (stress_today - load_yesterday) / days`, with 42 days for CTL and 7 for
    ATL (the `exp(-1/days)` variant differs by less than 1%). TSB is the form the athlete starts the day
    with: yesterday's CTL minus yesterday's ATL, as the Performance Manager Chart plots it, so that a hard
    session does not make its own day look fatigued."""
    loads: list[DailyLoad] = []
    ctl, atl = float(ctl_seed), float(atl_seed)
    day = start
    while day <= end:
        stress = float(daily_stress.get(day, 0.0))
        form = ctl - atl
        ctl += (stress - ctl) / CTL_DAYS
        atl += (stress - atl) / ATL_DAYS
        loads.append(DailyLoad(date=day, stress=stress, ctl=ctl, atl=atl, tsb=form))
        day += timedelta(days=1)
    return loads
