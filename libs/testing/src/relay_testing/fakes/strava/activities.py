"""Strava activities as Strava's API v3 describes them, for the fake's data API and for the tests and
benchmarks that need realistic payloads:

- `strava_activity(athlete_id, **overrides)`: one DetailedActivity (`resource_state=2`: a summary), a
  morning run near Annecy unless `sport_type` says otherwise;
- `strava_history(athlete_id, count, end=..., seed=...)`: a triathlete's activities before `end`, oldest
  first, the same for the same arguments;
- `summary_of(detail)`: the SummaryActivity that the list endpoint gives for a DetailedActivity;
- `ActivityStore`: the activities the fake holds, by id and by athlete.

Strava leaves out the fields it has no value for (`average_watts` without power, heart rate without a
sensor), and so do these payloads."""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

# The older `type` field only knows the activity types that existed before `sport_type`: Strava gives
# the closest of those for the newer sport types.
_LEGACY_TYPES = {
    "TrailRun": "Run",
    "MountainBikeRide": "Ride",
    "GravelRide": "Ride",
    "EMountainBikeRide": "EBikeRide",
    "VirtualRow": "Rowing",
    "HighIntensityIntervalTraining": "Workout",
    "Pilates": "Workout",
    "Badminton": "Workout",
    "Pickleball": "Workout",
    "Racquetball": "Workout",
    "Squash": "Workout",
    "TableTennis": "Workout",
    "Tennis": "Workout",
}

_RUNS = frozenset({"Run", "TrailRun", "VirtualRun"})
_RIDES = frozenset(
    {"Ride", "VirtualRide", "MountainBikeRide", "GravelRide", "EBikeRide", "EMountainBikeRide", "Velomobile"}
)
_WORDS = {
    "Run": "Run",
    "TrailRun": "Trail Run",
    "VirtualRun": "Virtual Run",
    "Ride": "Ride",
    "MountainBikeRide": "Mountain Bike Ride",
    "GravelRide": "Gravel Ride",
    "EBikeRide": "E-Bike Ride",
    "Swim": "Swim",
    "Walk": "Walk",
    "Hike": "Hike",
    "WeightTraining": "Weight Training",
    "HighIntensityIntervalTraining": "HIIT",
}
# Fields of a DetailedActivity that its summary does not have.
_DETAILED_ONLY = frozenset(
    {
        "description",
        "calories",
        "device_name",
        "embed_token",
        "gear",
        "photos",
        "segment_efforts",
        "splits_metric",
        "laps",
        "best_efforts",
        "stats_visibility",
        "available_zones",
        "perceived_exertion",
        "prefer_perceived_exertion",
    }
)
HISTORY_BLOCK = 200_000
"""Ids a history may use: at most this many activities per `strava_history` call."""

_FACTORY_IDS = itertools.count(20_000_000_001)
DEFAULT_START = datetime(2025, 6, 14, 5, 31, 12, tzinfo=UTC)


def legacy_type(sport_type: str) -> str:
    """The `type` Strava gives next to `sport_type`."""
    return _LEGACY_TYPES.get(sport_type, sport_type)


@dataclass(frozen=True)
class _Place:
    zone: str
    country: str
    lat: float
    lng: float
    altitude: float


_ANNECY = _Place("Europe/Paris", "France", 45.8992, 6.1294, 447.0)
_BOULDER = _Place("America/Denver", "United States", 40.0150, -105.2705, 1655.0)
_GIRONA = _Place("Europe/Madrid", "Spain", 41.9794, 2.8214, 75.0)
_KONA = _Place("Pacific/Honolulu", "United States", 19.6400, -155.9969, 5.0)
_WATOPIA = _Place("Europe/Paris", "", -11.6360, 166.9480, 10.0)  # Zwift's island; the zone is the rider's
_HOMES = (_ANNECY, _BOULDER, _GIRONA)
_CAMPS = (_GIRONA, _KONA, _ANNECY)
_ZWIFT_ROUTES = (
    "Tempus Fugit in Watopia",
    "Volcano Circuit in Watopia",
    "Watopia's Waistband in Watopia",
    "Greater London Loop in London",
    "Tick Tock in Watopia",
)


def strava_activity(athlete_id: int, *, start: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A DetailedActivity of `athlete_id` as `GET /api/v3/activities/{id}` gives it, with `overrides`
    (Strava's field names) applied as given. `sport_type` (or `type`), `trainer` and `manual` shape the
    values (a `VirtualRide` is a Zwift ride with power, a `Swim` a pool swim); `start` (aware, or else
    an overridden `start_date`) sets `start_date`, `start_date_local`, `timezone` and `utc_offset`
    together (Annecy's time zone); an override of `resource_state=2` gives the summary instead. Ids are
    unique unless `id` is given."""
    sport_type = str(overrides.get("sport_type") or overrides.get("type") or "Run")
    if start is None and "start_date" in overrides:
        start = datetime.fromtimestamp(starts_at(overrides), UTC)
    activity_id = int(overrides["id"]) if "id" in overrides else next(_FACTORY_IDS)
    payload = _build(
        random.Random(f"{athlete_id}:{sport_type}"),
        athlete_id=athlete_id,
        activity_id=activity_id,
        sport_type=sport_type,
        start=start or DEFAULT_START,
        place=_ANNECY,
        zone=_ANNECY.zone,
        trainer=bool(overrides.get("trainer", sport_type in ("VirtualRide", "VirtualRun", "VirtualRow"))),
        manual=bool(overrides.get("manual", False)),
        visibility="everyone",
    )
    payload.update(overrides)
    if "private" in overrides and "visibility" not in overrides:
        payload["visibility"] = "only_me" if overrides["private"] else "everyone"
    return summary_of(payload) if payload["resource_state"] == 2 else payload


def strava_history(
    athlete_id: int, count: int, *, end: datetime, seed: int = 0, first_id: int | None = None
) -> list[dict[str, Any]]:
    """`count` DetailedActivities of a triathlete who lives in one of a few places (chosen by `seed`),
    oldest first, all started before `end`: runs (some on trails or a treadmill), rides outdoors in
    summer and on Zwift in winter, pool and summer open-water swims, walks, hikes, strength sessions,
    training camps abroad and a few manual entries. The same arguments give the same activities. Ids
    follow the order of the activities from `first_id` (by default a block derived from the athlete and
    the seed)."""
    if not 0 <= count <= HISTORY_BLOCK:
        raise ValueError(f"a history has between 0 and {HISTORY_BLOCK} activities")
    rng = random.Random(f"{athlete_id}:{seed}")
    home = _HOMES[seed % len(_HOMES)]
    first = _history_first_id(athlete_id, seed) if first_id is None else first_id
    planned = _plan(rng, count, end=end.astimezone(UTC), home=home)
    return [
        _build(
            rng,
            athlete_id=athlete_id,
            activity_id=first + index,
            sport_type=sport_type,
            start=start,
            place=place,
            zone=place.zone,
            trainer=trainer,
            manual=manual,
            visibility=rng.choices(("everyone", "followers_only", "only_me"), weights=(80, 17, 3))[0],
            # Lakes in summer, pools otherwise.
            open_water=sport_type == "Swim" and start.month in (6, 7, 8, 9) and rng.random() < 0.35,
        )
        for index, (start, place, sport_type, trainer, manual) in enumerate(planned)
    ]


def summary_of(detail: dict[str, Any]) -> dict[str, Any]:
    """The SummaryActivity (`resource_state` 2) of a DetailedActivity, as the list endpoint gives it."""
    summary = {key: value for key, value in detail.items() if key not in _DETAILED_ONLY}
    summary["resource_state"] = 2
    route = detail.get("map")
    if isinstance(route, dict):
        summary["map"] = {
            "id": route.get("id"),
            "summary_polyline": route.get("summary_polyline"),
            "resource_state": 2,
        }
    return summary


def starts_at(payload: dict[str, Any]) -> float:
    """The epoch second an activity started (`start_date`, UTC)."""
    return datetime.fromisoformat(str(payload["start_date"]).replace("Z", "+00:00")).timestamp()


@dataclass
class StoredActivity:
    athlete_id: int
    starts_at: float
    detail: dict[str, Any]

    @property
    def private(self) -> bool:
        return bool(self.detail.get("private"))


class ActivityStore:
    """Activities by their (global) id, each owned by one athlete; an athlete's in start order."""

    def __init__(self) -> None:
        self._by_id: dict[int, StoredActivity] = {}
        self._by_athlete: dict[int, dict[int, StoredActivity]] = {}
        self._in_order: dict[int, list[StoredActivity]] = {}  # by athlete, until the next change

    def put(self, athlete_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Adds the activity (fields it lacks come from `strava_activity`), or edits the stored one with
        the same id (the given fields replace the stored ones). Returns the DetailedActivity stored."""
        activity_id = payload.get("id")
        existing = self._by_id.get(int(activity_id)) if activity_id is not None else None
        if existing is None:
            detail = strava_activity(athlete_id, **payload)
        else:
            detail = {**existing.detail, **payload}
            if "private" in payload and "visibility" not in payload:
                detail["visibility"] = "only_me" if payload["private"] else "everyone"
        return self._store(athlete_id, detail)

    def put_many(self, athlete_id: int, details: list[dict[str, Any]]) -> None:
        """Stores complete DetailedActivities (those of `strava_history`) as they are."""
        for detail in details:
            self._store(athlete_id, detail)

    def remove(self, activity_id: int) -> bool:
        stored = self._by_id.pop(activity_id, None)
        if stored is None:
            return False
        del self._by_athlete[stored.athlete_id][activity_id]
        self._in_order.pop(stored.athlete_id, None)
        return True

    def get(self, activity_id: int) -> StoredActivity | None:
        return self._by_id.get(activity_id)

    def of(self, athlete_id: int) -> list[StoredActivity]:
        """The athlete's activities, oldest first (by start, then id)."""
        if athlete_id not in self._in_order:
            self._in_order[athlete_id] = sorted(
                self._by_athlete.get(athlete_id, {}).values(), key=lambda a: (a.starts_at, a.detail["id"])
            )
        return self._in_order[athlete_id]

    def page(
        self,
        athlete_id: int,
        *,
        before: int | None,
        after: int | None,
        page: int,
        per_page: int,
        include_private: bool,
    ) -> list[dict[str, Any]]:
        """One page of the athlete's SummaryActivities that started strictly between `after` and
        `before`: oldest first when `after` is given, newest first otherwise, as Strava sorts them."""
        chosen = [
            stored
            for stored in self.of(athlete_id)
            if (before is None or stored.starts_at < before)
            and (after is None or stored.starts_at > after)
            and (include_private or not stored.private)
        ]
        if after is None:
            chosen.reverse()
        return [summary_of(stored.detail) for stored in chosen[(page - 1) * per_page : page * per_page]]

    def _store(self, athlete_id: int, detail: dict[str, Any]) -> dict[str, Any]:
        activity_id = int(detail["id"])
        existing = self._by_id.get(activity_id)
        if existing is not None and existing.athlete_id != athlete_id:
            raise ValueError(f"activity {activity_id} belongs to athlete {existing.athlete_id}")
        detail = {
            **detail,
            "id": activity_id,
            "resource_state": 3,
            "athlete": {"id": athlete_id, "resource_state": 1},
        }
        stored = StoredActivity(athlete_id=athlete_id, starts_at=starts_at(detail), detail=detail)
        self._by_athlete.setdefault(athlete_id, {})[activity_id] = stored
        self._by_id[activity_id] = stored
        self._in_order.pop(athlete_id, None)
        return detail


def _history_first_id(athlete_id: int, seed: int) -> int:
    digest = hashlib.blake2b(f"{athlete_id}:{seed}".encode(), digest_size=8).digest()
    return 10_000_000_000 + int.from_bytes(digest, "big") % 50_000 * HISTORY_BLOCK


_Planned = tuple[datetime, _Place, str, bool, bool]  # start, place, sport type, trainer, manual
_SLOTS = (6, 7, 8, 12, 17, 18, 19)


def _plan(rng: random.Random, count: int, *, end: datetime, home: _Place) -> list[_Planned]:
    """When, where and what: days walked back from `end`, each with zero to three sessions."""
    planned: list[_Planned] = []
    day = end.astimezone(_zone(home.zone)).date()
    camp, camp_days = home, 0
    while len(planned) < count:
        if camp_days == 0 and rng.random() < 0.004:
            camp, camp_days = rng.choice(_CAMPS), rng.randint(6, 12)
        place = camp if camp_days > 0 else home
        camp_days = max(0, camp_days - 1)
        sessions = rng.choices((0, 1, 2, 3), weights=(14, 50, 31, 5))[0]
        for hour in sorted(rng.sample(_SLOTS, sessions), reverse=True):
            local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))
            start = local.replace(tzinfo=_zone(place.zone)).astimezone(UTC)
            if start >= end:
                continue
            sport_type, trainer, manual = _pick_sport(rng, day, place is not home)
            planned.append((start, place, sport_type, trainer, manual))
            if len(planned) == count:
                break
        day -= timedelta(days=1)
    planned.reverse()
    return planned


def _pick_sport(rng: random.Random, day: date, at_camp: bool) -> tuple[str, bool, bool]:
    """A triathlete's mix: indoors in winter, open water in summer, more riding at camps."""
    winter = day.month in (11, 12, 1, 2, 3)
    weights = {
        "Run": 30,
        "TrailRun": 1 if winter else 5,
        "Ride": (5 if winter else 18) + (20 if at_camp else 0),
        "VirtualRide": 0 if at_camp else (19 if winter else 5),
        "Swim": 20,
        "Walk": 7,
        "Hike": 0 if winter else 2,
        "WeightTraining": 6,
        "Yoga": 2,
        "Workout": 1,
    }
    sport_type = rng.choices(list(weights), weights=list(weights.values()))[0]
    trainer = sport_type == "VirtualRide" or (sport_type == "Run" and winter and rng.random() < 0.1)
    if sport_type == "Swim":
        trainer = False
    manual = sport_type in ("WeightTraining", "Yoga", "Workout", "Run") and rng.random() < 0.03
    return sport_type, trainer and not manual, manual


def _build(
    rng: random.Random,
    *,
    athlete_id: int,
    activity_id: int,
    sport_type: str,
    start: datetime,
    place: _Place,
    zone: str,
    trainer: bool,
    manual: bool,
    visibility: str,
    open_water: bool = False,
) -> dict[str, Any]:
    """A DetailedActivity, its values drawn from `rng` within what such an activity plausibly holds."""
    start = start.astimezone(UTC).replace(microsecond=0)
    zoned = start.astimezone(_zone(zone))
    offset = zoned.utcoffset() or timedelta(0)
    local = start + offset
    m = _metrics(rng, sport_type, trainer=trainer, manual=manual, open_water=open_water)
    if sport_type == "VirtualRide":
        place = _WATOPIA
    gps = m["gps"] and not manual
    polyline = _loop(rng, place, m["distance"]) if gps else ("" if not manual else None)
    latlng = [round(place.lat, 6), round(place.lng, 6)] if gps else []
    recorded = not manual
    hr = m["heartrate"] if recorded else None
    name = m["name"] or f"{_part_of_day(local.hour)} {_WORDS.get(sport_type, sport_type)}"
    gear_id = f"{m['gear']}{1_000_000 + athlete_id % 9_000_000}" if m["gear"] else None
    upload_id = activity_id + 1_073_741_824 if recorded else None
    payload: dict[str, Any] = {
        "resource_state": 3,
        "athlete": {"id": athlete_id, "resource_state": 1},
        "name": name,
        "distance": round(m["distance"], 1),
        "moving_time": m["moving_time"],
        "elapsed_time": m["elapsed_time"],
        "total_elevation_gain": round(m["elevation"], 1),
        "type": legacy_type(sport_type),
        "sport_type": sport_type,
        "workout_type": m["workout_type"],
        "id": activity_id,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Strava writes local times with a `Z` too.
        "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": _strava_timezone(zone, zoned),
        "utc_offset": offset.total_seconds(),
        "location_city": None,
        "location_state": None,
        "location_country": place.country or None,
        "achievement_count": rng.randint(0, 4) if gps else 0,
        "kudos_count": rng.randint(0, 25),
        "comment_count": rng.randint(0, 2),
        "athlete_count": 1,
        "photo_count": 0,
        "map": {
            "id": f"a{activity_id}",
            "polyline": polyline,
            "summary_polyline": polyline,
            "resource_state": 3,
        },
        "trainer": trainer,
        "commute": sport_type == "Ride" and not trainer and rng.random() < 0.05,
        "manual": manual,
        "private": visibility == "only_me",
        "visibility": visibility,
        "flagged": False,
        "gear_id": gear_id,
        "start_latlng": latlng,
        "end_latlng": latlng,
        "average_speed": round(m["distance"] / m["moving_time"], 3) if m["moving_time"] else 0.0,
        "max_speed": round(m["max_speed"], 1),
    }
    if m["cadence"] is not None and recorded:
        payload["average_cadence"] = round(m["cadence"], 1)
    if gps:
        payload["average_temp"] = rng.randint(4, 29)
    if m["watts"] is not None and recorded:
        payload.update(m["watts"])
    payload["has_heartrate"] = hr is not None
    if hr is not None:
        payload["average_heartrate"], payload["max_heartrate"] = hr
    payload.update(
        {
            "heartrate_opt_out": False,
            "display_hide_heartrate_option": hr is not None,
            "upload_id": upload_id,
            "upload_id_str": str(upload_id) if upload_id else None,
            "external_id": _external_id(rng, sport_type, start) if recorded else None,
            "from_accepted_tag": False,
            "pr_count": rng.randint(0, 2) if gps and sport_type in _RUNS else 0,
            "total_photo_count": 0,
            "has_kudoed": False,
        }
    )
    if hr is not None:
        payload["suffer_score"] = round(m["moving_time"] / 60 * rng.uniform(0.5, 1.4))
    if gps:
        low = place.altitude + rng.uniform(0, 25)
        payload["elev_low"] = round(low, 1)
        payload["elev_high"] = round(low + m["elevation"] * rng.uniform(0.35, 0.7), 1)
    payload.update(
        {
            "description": None,
            "calories": round(m["calories"], 1) if recorded else 0.0,
            "device_name": m["device"] if recorded else None,
            "embed_token": f"{rng.getrandbits(160):040x}",
            "gear": {"id": gear_id, "primary": True, "resource_state": 2} if gear_id else None,
            "photos": {"primary": None, "count": 0},
            "segment_efforts": [],
            "laps": [],
            "stats_visibility": [{"type": "heart_rate", "visibility": "everyone"}],
            "hide_from_home": False,
            "perceived_exertion": None,
            "prefer_perceived_exertion": None,
        }
    )
    return payload


def _metrics(
    rng: random.Random, sport_type: str, *, trainer: bool, manual: bool, open_water: bool
) -> dict[str, Any]:
    """Distance (m), times (s), elevation (m), speeds (m/s), cadence, power, heart rate and kcal."""
    watch = "Garmin Forerunner 965"
    m: dict[str, Any] = {"name": None, "cadence": None, "watts": None, "workout_type": None, "gear": None}
    if sport_type in _RUNS:
        long_run = rng.random() < 0.12
        race = rng.random() < 0.02
        distance = rng.uniform(16_000, 30_000) if long_run else rng.uniform(5_000, 13_000)
        speed = rng.uniform(2.3, 3.0) if sport_type == "TrailRun" else rng.uniform(2.8, 3.6)
        if race:
            distance, speed = rng.choice((5_000.0, 10_000.0, 21_097.5)) * rng.uniform(1.0, 1.02), speed * 1.15
        climb = rng.uniform(0.025, 0.06) if sport_type == "TrailRun" else rng.uniform(0.002, 0.012)
        m.update(
            distance=distance,
            speed=speed,
            elevation=0.0 if trainer else distance * climb,
            max_speed=speed * rng.uniform(1.25, 1.6),
            cadence=rng.uniform(82, 90),
            heartrate=_heartrate(rng, 138, 160),
            calories=distance / 1000 * rng.uniform(62, 72),
            gps=not trainer,
            device=watch,
            workout_type=1 if race else 2 if long_run else rng.choice((0, 0, 0, 3)),
            gear="g",
        )
    elif sport_type in _RIDES:
        m.update(_ride(rng, sport_type, trainer=trainer))
    elif sport_type == "Swim":
        distance = float(rng.randrange(1_500, 4_050, 50))
        speed = rng.uniform(0.8, 1.0) if open_water else rng.uniform(0.75, 0.95)
        m.update(
            distance=distance,
            speed=speed,
            elevation=0.0,
            max_speed=speed * rng.uniform(1.3, 1.6),
            heartrate=_heartrate(rng, 125, 145) if rng.random() < 0.7 else None,
            calories=distance / 1000 * rng.uniform(230, 280),
            gps=open_water,
            device=watch,
            rest=rng.uniform(1.0, 1.05) if open_water else rng.uniform(1.15, 1.35),
        )
    elif sport_type in ("Walk", "Hike", "Snowshoe"):
        walk = sport_type == "Walk"
        distance = rng.uniform(2_000, 7_000) if walk else rng.uniform(8_000, 20_000)
        speed = rng.uniform(1.2, 1.5) if walk else rng.uniform(0.9, 1.3)
        m.update(
            distance=distance,
            speed=speed,
            elevation=distance * (rng.uniform(0.002, 0.015) if walk else rng.uniform(0.04, 0.09)),
            max_speed=speed * rng.uniform(1.3, 1.8),
            cadence=rng.uniform(54, 60),
            heartrate=_heartrate(rng, 92, 118),
            calories=distance / 1000 * rng.uniform(45, 60),
            gps=True,
            device=watch,
        )
    else:  # a session in one place: strength, yoga, a workout, and every other sport
        minutes = rng.uniform(25, 65)
        m.update(
            distance=0.0,
            speed=0.0,
            moving=round(minutes * 60),
            elevation=0.0,
            max_speed=0.0,
            heartrate=_heartrate(rng, 100, 128),
            calories=minutes * rng.uniform(5, 8),
            gps=False,
            device=watch,
        )
    moving = m.pop("moving", None) or max(1, round(m["distance"] / m["speed"]))
    m["moving_time"] = moving
    m["elapsed_time"] = round(moving * m.pop("rest", rng.uniform(1.0, 1.12)))
    del m["speed"]
    if manual:
        m["elapsed_time"] = moving
    return m


def _ride(rng: random.Random, sport_type: str, *, trainer: bool) -> dict[str, Any]:
    virtual = sport_type == "VirtualRide"
    indoor = virtual or trainer
    hours = rng.uniform(0.75, 1.6) if indoor else rng.uniform(1.5, 4.5)
    # Indoors without Zwift the distance comes from the trainer's or the wheel's speed sensor.
    speed = rng.uniform(8.5, 10.5) if virtual else rng.uniform(8.0, 9.5) if trainer else rng.uniform(7.3, 9.3)
    power_meter = virtual or rng.random() < 0.93
    average = rng.uniform(180, 240) if indoor else rng.uniform(160, 215)
    moving = round(hours * 3600)
    watts: dict[str, Any] = {
        "average_watts": round(average, 1),
        "kilojoules": round(average * moving / 1000, 1),
    }
    if power_meter:
        watts["weighted_average_watts"] = round(average * rng.uniform(1.03, 1.12))
        watts["max_watts"] = round(rng.uniform(550, 1050))
    watts["device_watts"] = power_meter
    distance = speed * moving
    race = not indoor and rng.random() < 0.02
    return {
        "distance": distance,
        "speed": speed,
        "moving": moving,
        "elevation": distance * (rng.uniform(0.006, 0.012) if virtual else rng.uniform(0.004, 0.018)),
        "max_speed": speed * rng.uniform(1.7, 2.3),
        "cadence": rng.uniform(84, 93),
        "watts": watts,
        "heartrate": _heartrate(rng, 128, 152),
        "calories": watts["kilojoules"] * rng.uniform(0.95, 1.1),
        "gps": not trainer or virtual,
        "device": "Zwift" if virtual else "Garmin Edge 840",
        "name": f"Zwift - {rng.choice(_ZWIFT_ROUTES)}" if virtual else None,
        "workout_type": 11 if race else rng.choice((10, 10, 12)),
        "gear": "b",
    }


def _heartrate(rng: random.Random, low: float, high: float) -> tuple[float, float]:
    average = rng.uniform(low, high)
    return round(average, 1), float(round(average + rng.uniform(12, 30)))


def _external_id(rng: random.Random, sport_type: str, start: datetime) -> str:
    if sport_type == "VirtualRide":
        return f"zwift-activity-{rng.randrange(10**18, 10**19)}.fit"
    return f"garmin_ping_{int(start.timestamp()) * 7 + rng.randrange(1000)}"


def _part_of_day(hour: int) -> str:
    if hour < 11:
        return "Morning"
    if hour < 14:
        return "Lunch"
    if hour < 17:
        return "Afternoon"
    return "Evening" if hour < 21 else "Night"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _strava_timezone(zone: str, local: datetime) -> str:
    """Strava's `(GMT+01:00) Europe/Paris`: the zone's standard offset, whatever the season."""
    standard = (local.utcoffset() or timedelta(0)) - (local.dst() or timedelta(0))
    minutes = int(standard.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"(GMT{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}) {zone}"


def _loop(rng: random.Random, place: _Place, distance: float) -> str:
    """An encoded polyline (Google's format, as Strava's maps are) of a loop of about `distance`."""
    # Loops 100 m and an eighth of a turn apart look alike; they are encoded once.
    radius = round(max(distance, 700.0) / (2 * math.pi), -2)
    return _encode_loop(place.lat, place.lng, radius, rng.randrange(8) * math.pi / 4)


@lru_cache(maxsize=8192)
def _encode_loop(lat: float, lng: float, radius: float, heading: float) -> str:
    dlat = radius / 111_320
    dlng = radius / (111_320 * math.cos(math.radians(lat)))
    centre = (lat + dlat * math.sin(heading), lng + dlng * math.cos(heading))
    points = [
        (
            centre[0] - dlat * math.sin(heading + step * math.pi / 6),
            centre[1] - dlng * math.cos(heading + step * math.pi / 6),
        )
        for step in range(13)
    ]
    return _encode_polyline(points)


def _encode_polyline(points: list[tuple[float, float]]) -> str:
    out: list[str] = []
    previous = (0, 0)
    for lat, lng in points:
        current = (round(lat * 1e5), round(lng * 1e5))
        for value in (current[0] - previous[0], current[1] - previous[1]):
            value = ~(value << 1) if value < 0 else value << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        previous = current
    return "".join(out)
