"""Apple Health and Google Fit, through a bridge app on the athlete's phone (Health Auto Export): its
uploads carry the workouts themselves and there is no API to read anything back.

A workout is named by its type (`Outdoor Run`, `Pool Swim`, `Traditional Strength Training`, ...),
timed by `start` and `end` as `yyyy-MM-dd HH:mm:ss Z` (the phone's offset from UTC), and measured in
quantities `{"qty", "units"}` whose units follow the phone's settings (km or mi, kcal or kJ, ...).
Uploads overlap, so each workout needs an id that stays the same from one upload to the next."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ingestion.providers.base import ActivityData, Fetched, Notification, Page, ProviderHttp, Sport, SubSport
from ingestion.providers.values import number

PROVIDER = "health_bridge"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
WORKOUT_ID_NAMESPACE = uuid.UUID("6f1d0c52-8a7e-4b8e-9a43-2c1f5e7d9b10")
"""Ids derived for workouts that come without one (older versions of the app)."""

METRES_PER_UNIT = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "yd": 0.9144, "ft": 0.3048}
# Apple writes food calories as "Cal", which are kilocalories.
KCAL_PER_UNIT = {"kcal": 1.0, "cal": 1.0, "kj": 1 / 4.184}
MPS_PER_UNIT = {
    "m/s": 1.0,
    "km/hr": 1 / 3.6,
    "km/h": 1 / 3.6,
    "kmph": 1 / 3.6,
    "mph": 0.44704,
    "mi/hr": 0.44704,
}

# Checked in this order: the first keyword found in the lowercase workout name decides the sport.
_SPORT_KEYWORDS: tuple[tuple[tuple[str, ...], Sport], ...] = (
    (("swim",), "swim"),
    (("run", "jog"), "run"),
    (("cycl", "bik", "ride"), "bike"),
    (("hik",), "hike"),
    (("walk",), "walk"),
    (("row",), "row"),
    (("ski", "snowboard"), "ski"),
    (("strength", "weight"), "strength"),
    (("yoga", "pilates", "mind and body", "flexibility"), "yoga"),
    (("high intensity", "hiit", "cardio", "elliptical", "stair", "jump rope", "cross training"), "cardio"),
)

_GROUNDS: tuple[tuple[str, SubSport], ...] = (
    ("treadmill", "treadmill"),
    ("trail", "trail"),
    ("track", "track"),
)


def sport_of(
    name: str, location: str | None = None, is_indoor: bool | None = None
) -> tuple[Sport, SubSport | None]:
    """Relay's sport for a workout type as the bridge names it, with what its location says."""
    lowered = name.lower()
    sport: Sport = next(
        (sport for keywords, sport in _SPORT_KEYWORDS if any(k in lowered for k in keywords)), "other"
    )
    place = (location or "").lower()
    indoor = is_indoor is True or place == "indoor" or lowered.startswith("indoor")
    if sport == "swim":
        if place == "pool" or "pool" in lowered:
            return sport, "pool"
        if place == "open water" or "open water" in lowered:
            return sport, "open_water"
        return sport, None
    for keyword, ground in _GROUNDS:
        if sport in ("run", "walk") and keyword in lowered:
            return sport, ground
    if sport == "bike" and "mountain" in lowered:
        return sport, "mountain"
    if sport == "bike" and "virtual" in lowered:
        return sport, "virtual"
    return sport, "indoor" if indoor and sport in ("run", "bike", "walk", "row", "cardio") else None


def external_id_of(workout: dict[str, Any]) -> str | None:
    """The workout's id: the bridge's own (newer versions of the app), else one derived from its type
    and start, the same in every upload that repeats the workout."""
    if workout.get("id"):
        return str(workout["id"])
    start = _time(workout.get("start"))
    if start is None:
        return None
    return str(uuid.uuid5(WORKOUT_ID_NAMESPACE, f"{workout.get('name', '')}|{start.timestamp():.0f}"))


def normalize(payload: dict[str, Any]) -> ActivityData | None:
    """One workout of a bridge upload as Relay's activity; None without a start."""
    start = _time(payload.get("start"))
    external_id = external_id_of(payload)
    if start is None or external_id is None:
        return None
    name = str(payload.get("name") or "Workout")
    location = payload.get("location") if isinstance(payload.get("location"), str) else None
    sport, sub_sport = sport_of(name, location, payload.get("isIndoor"))
    end = _time(payload.get("end"))
    duration = number(payload.get("duration"))
    elapsed = duration if duration is not None else (end - start).total_seconds() if end else None
    offset = start.utcoffset()
    heart_rate = _mapping(payload.get("heartRate"))
    cadence_field = "swimCadence" if sport == "swim" else "stepCadence"
    return ActivityData(
        provider=PROVIDER,
        external_id=external_id,
        sport=sport,
        sub_sport=sub_sport,
        sport_type=name,
        name=name,
        start_time=start,
        utc_offset_seconds=int(offset.total_seconds()) if offset is not None else None,
        elapsed_time_s=round(elapsed) if elapsed is not None else None,
        distance_m=_converted(payload.get("distance"), METRES_PER_UNIT),
        elevation_gain_m=_converted(payload.get("elevationUp"), METRES_PER_UNIT),
        average_heartrate=_quantity(payload.get("avgHeartRate")) or _quantity(heart_rate.get("avg")),
        max_heartrate=_quantity(payload.get("maxHeartRate")) or _quantity(heart_rate.get("max")),
        average_speed_mps=_converted(payload.get("avgSpeed") or payload.get("speed"), MPS_PER_UNIT),
        max_speed_mps=_converted(payload.get("maxSpeed"), MPS_PER_UNIT),
        average_cadence=_quantity(payload.get(cadence_field)),
        calories=_converted(payload.get("activeEnergyBurned"), KCAL_PER_UNIT),
        raw=payload,
    )


class HealthBridgeApi:
    """The bridge apps: what they upload is all there is."""

    provider = PROVIDER
    auth = "none"

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """Every workout of the upload (`payload["workouts"]`, or the app's whole document)."""
        del http
        if notification.aspect_type == "delete":
            return Fetched(deleted=[notification.object_id])
        document = _mapping(notification.payload.get("data")) or notification.payload
        workouts = document.get("workouts")
        if not isinstance(workouts, list):
            return Fetched()
        activities = (normalize(workout) for workout in workouts if isinstance(workout, dict))
        return Fetched(activities=[activity for activity in activities if activity is not None])

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """Nothing: the bridge apps have no API; history arrives with the uploads."""
        del http, since, until, cursor
        return Page(activities=[], cursor=None)


API = HealthBridgeApi()


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _quantity(value: Any) -> float | None:
    """The `qty` of a quantity (or a bare number, as older exports write some)."""
    return number(value.get("qty")) if isinstance(value, dict) else number(value)


def _converted(value: Any, factors: dict[str, float]) -> float | None:
    """A quantity in Relay's unit; None when its unit is not one the table knows (never a guess)."""
    if not isinstance(value, dict):
        return None
    quantity = number(value.get("qty"))
    factor = factors.get(str(value.get("units", "")).strip().lower())
    return quantity * factor if quantity is not None and factor is not None else None
