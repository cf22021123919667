"""Training zones 1-5 from an athlete's thresholds, and the target a workout step holds in a zone.

Each sport uses one published model, expressed in the units devices use (bpm, watts, m/s):

- heart rate: the five-zone model as a share of maximal heart rate (Sally Edwards' zones, the
  default of most sports watches): Z1 50-60 %, Z2 60-70 %, Z3 70-80 %, Z4 80-90 %, Z5 90-100 %;
- running: Joe Friel's pace zones relative to lactate-threshold pace (Z1 slower than 129 % of
  threshold pace, Z2 114-129 %, Z3 106-113 %, Z4 99-105 %, Z5 faster), turned into shares of
  threshold speed and rounded: Z1 65-78 %, Z2 78-88 %, Z3 88-95 %, Z4 95-102 %, Z5 102-115 %;
  Friel's 5a-5c are merged into one Z5, capped at 115 % since faster is sprinting, not training;
- cycling: Andrew Coggan's power levels 1-5 as a share of FTP: Z1 45-55 %, Z2 56-75 %, Z3 76-90 %,
  Z4 91-105 %, Z5 106-120 %;
- swimming: the CSS zones coaches write as offsets ("CSS + 6 s/100m" steady ...), as shares of
  CSS speed so that they scale from beginners to fast swimmers: Z1 80-89 %, Z2 89-94 %,
  Z3 94-98 %, Z4 98-102 %, Z5 102-110 %.

Z1 has a lower bound in every model (the published ones leave it open) because a device target is a
range. Neighbouring zones share their boundary.
"""

from __future__ import annotations

import math

from planning.domain import Sport, Thresholds
from relay_contracts.workouts import Target

ZONES: tuple[int, ...] = (1, 2, 3, 4, 5)

HEART_RATE_ZONES_PCT_MAX_HR: dict[int, tuple[float, float]] = {
    1: (0.50, 0.60),
    2: (0.60, 0.70),
    3: (0.70, 0.80),
    4: (0.80, 0.90),
    5: (0.90, 1.00),
}
RUN_SPEED_ZONES_PCT_THRESHOLD: dict[int, tuple[float, float]] = {
    1: (0.65, 0.78),
    2: (0.78, 0.88),
    3: (0.88, 0.95),
    4: (0.95, 1.02),
    5: (1.02, 1.15),
}
POWER_ZONES_PCT_FTP: dict[int, tuple[float, float]] = {
    1: (0.45, 0.55),
    2: (0.56, 0.75),
    3: (0.76, 0.90),
    4: (0.91, 1.05),
    5: (1.06, 1.20),
}
SWIM_SPEED_ZONES_PCT_CSS: dict[int, tuple[float, float]] = {
    1: (0.80, 0.89),
    2: (0.89, 0.94),
    3: (0.94, 0.98),
    4: (0.98, 1.02),
    5: (1.02, 1.10),
}
# Threshold speed sits between 85 and 88 % of VMA in trained endurance athletes; the lower half of
# that range keeps the zones conservative when the pace has not been measured.
THRESHOLD_SHARE_OF_VMA = 0.86


def _round_half_up(value: float) -> int:
    # round() rounds halves to even, which would make 187.5 W and 188.5 W both 188 W.
    return math.floor(value + 0.5)


def _speed(value: float) -> float:
    return round(value, 3)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def heart_rate_zones(max_hr: int) -> dict[int, tuple[int, int]]:
    """Zones 1-5 as (low, high) beats per minute from the maximal heart rate."""
    _positive("max_hr", max_hr)
    return {
        zone: (_round_half_up(low * max_hr), _round_half_up(high * max_hr))
        for zone, (low, high) in HEART_RATE_ZONES_PCT_MAX_HR.items()
    }


def run_threshold_speed(thresholds: Thresholds) -> float | None:
    """Threshold running speed in m/s: from the threshold pace, else estimated from VMA, else None."""
    if thresholds.threshold_pace_s_per_km is not None:
        _positive("threshold_pace_s_per_km", thresholds.threshold_pace_s_per_km)
        return 1000 / thresholds.threshold_pace_s_per_km
    if thresholds.vma_kmh is not None:
        _positive("vma_kmh", thresholds.vma_kmh)
        return thresholds.vma_kmh / 3.6 * THRESHOLD_SHARE_OF_VMA
    return None


def run_speed_zones(threshold_speed_m_s: float) -> dict[int, tuple[float, float]]:
    """Zones 1-5 as (low, high) m/s from the threshold running speed; low is the slower end."""
    _positive("threshold_speed_m_s", threshold_speed_m_s)
    return {
        zone: (_speed(low * threshold_speed_m_s), _speed(high * threshold_speed_m_s))
        for zone, (low, high) in RUN_SPEED_ZONES_PCT_THRESHOLD.items()
    }


def power_zones(ftp_w: int) -> dict[int, tuple[int, int]]:
    """Zones 1-5 as (low, high) watts from the functional threshold power."""
    _positive("ftp_w", ftp_w)
    return {
        zone: (_round_half_up(low * ftp_w), _round_half_up(high * ftp_w))
        for zone, (low, high) in POWER_ZONES_PCT_FTP.items()
    }


def swim_speed_zones(css_s_per_100m: float) -> dict[int, tuple[float, float]]:
    """Zones 1-5 as (low, high) m/s from the critical swim speed given as a pace (s/100m)."""
    _positive("css_s_per_100m", css_s_per_100m)
    css_speed = 100 / css_s_per_100m
    return {
        zone: (_speed(low * css_speed), _speed(high * css_speed))
        for zone, (low, high) in SWIM_SPEED_ZONES_PCT_CSS.items()
    }


def athlete_speed_zones(sport: Sport, thresholds: Thresholds) -> dict[int, tuple[float, float]] | None:
    """The athlete's speed zones for running or swimming; None when unknown, and for cycling, whose
    speed depends on terrain and wind more than on the athlete."""
    if sport == "run":
        threshold = run_threshold_speed(thresholds)
        return run_speed_zones(threshold) if threshold is not None else None
    if sport == "swim" and thresholds.css_s_per_100m is not None:
        return swim_speed_zones(thresholds.css_s_per_100m)
    return None


def target_for(sport: Sport, zone: int, thresholds: Thresholds) -> Target | None:
    """The best target the athlete's data allows for holding `zone` in `sport`, or None (by feel).

    Cycling prefers power, then heart rate; running prefers speed (threshold pace or VMA), then heart
    rate; swimming uses speed from CSS only, since wrist heart rate is unreliable under water."""
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone}")
    if sport == "bike" and thresholds.ftp_w is not None:
        watts_low, watts_high = power_zones(thresholds.ftp_w)[zone]
        return Target(kind="power", low=watts_low, high=watts_high, zone=zone)
    if sport in ("run", "swim"):
        speeds = athlete_speed_zones(sport, thresholds)
        if speeds is not None:
            speed_low, speed_high = speeds[zone]
            return Target(kind="speed", low=speed_low, high=speed_high, zone=zone)
    if sport in ("bike", "run") and thresholds.max_hr is not None:
        bpm_low, bpm_high = heart_rate_zones(thresholds.max_hr)[zone]
        return Target(kind="heart_rate", low=bpm_low, high=bpm_high, zone=zone)
    return None


_PACE_UNIT_M = {"run": 1000.0, "swim": 100.0}
_PACE_SUFFIX = {"run": "/km", "swim": "/100m"}


def _pace_clock(speed_m_s: float, sport: Sport) -> str:
    if sport not in _PACE_UNIT_M:
        raise ValueError("a pace is given for running and swimming; cycling speed is in km/h")
    _positive("speed_m_s", speed_m_s)
    minutes, seconds = divmod(_round_half_up(_PACE_UNIT_M[sport] / speed_m_s), 60)
    return f"{minutes}:{seconds:02d}"


def format_pace(speed_m_s: float, sport: Sport) -> str:
    """A speed as the pace athletes read: "4:05/km" when running, "1:45/100m" when swimming."""
    return _pace_clock(speed_m_s, sport) + _PACE_SUFFIX[sport]


def format_pace_range(low_m_s: float, high_m_s: float, sport: Sport) -> str:
    """A speed range as a pace range, faster pace first: "3:45-3:55/km"."""
    slow, fast = sorted((low_m_s, high_m_s))
    return f"{_pace_clock(fast, sport)}-{_pace_clock(slow, sport)}{_PACE_SUFFIX[sport]}"
