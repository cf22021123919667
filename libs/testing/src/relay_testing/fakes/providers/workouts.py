"""What the providers' workout-push APIs keep: the FIT files imported into COROS Training Hub accounts,
the workouts created in Garmin Connect with the dates they are scheduled on, and the uploads a test wants
acknowledged without being kept. Nothing here knows about HTTP.

COROS answers with HTTP 200 and the outcome in `result`: "0000" ok, "2001" invalid file (missing fields,
md5 or fileSize not the file's, unknown time zone, not a sound FIT file), "2002" file too large, and "2003"
for an unknown importId, a code the fake chose: the hub's documented table has none for it."""

from __future__ import annotations

import copy
import hashlib
import itertools
import random
import secrets
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from garmin_fit_sdk import Decoder, Stream
from pydantic import BaseModel, ConfigDict, Field

from relay_testing.fakes.asgi import FormPart

UploadTarget = Literal["coros-hub", "garmin"]

COROS_MAX_IMPORT_BYTES = 1024 * 1024
INVALID_FILE = {"result": "2001", "message": "Invalid file", "data": None}
FILE_TOO_LARGE = {"result": "2002", "message": "File too large", "data": None}
IMPORT_NOT_FOUND = {"result": "2003", "message": "Import record not found", "data": None}
COROS_HUB_OK = {"result": "0000", "message": "OK"}

_rng = random.Random()


def is_sound_fit(data: bytes) -> bool:
    """Whether Garmin's own decoder takes `data` for a FIT file whose header and CRC hold."""
    try:
        decoder = Decoder(Stream.from_byte_array(bytearray(data)))
        return decoder.is_fit() and decoder.check_integrity()
    except Exception:  # whatever the decoder chokes on is no FIT file
        return False


def is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class CorosImport(BaseModel):
    """A FIT file imported into a Training Hub account, as the hub keeps it; `file` is base64 in JSON."""

    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    import_id: str
    file: bytes
    md5: str
    time_zone: str
    file_name: str
    imported_at: datetime

    @property
    def file_size(self) -> int:
        return len(self.file)

    def listed(self) -> dict[str, Any]:
        """How `getImportSportList` describes the import: everything but its bytes."""
        return {
            "importId": self.import_id,
            "fileName": self.file_name,
            "md5": self.md5,
            "fileSize": self.file_size,
            "timeZone": self.time_zone,
            "createTime": int(self.imported_at.timestamp()),
        }


class CorosImports:
    """The FIT files imported into each Training Hub account, by the account's user id."""

    def __init__(self, *, max_file_bytes: int = COROS_MAX_IMPORT_BYTES) -> None:
        self.max_file_bytes = max_file_bytes
        self.reset()

    def reset(self) -> None:
        self._imports: dict[str, dict[str, CorosImport]] = {}
        self._pretended = 0

    def pretend_next(self, times: int) -> None:
        self._pretended += times

    def import_fit(self, user_id: str, parts: dict[str, FormPart], now: datetime) -> dict[str, Any]:
        """`POST /activity/fit/import`: the hub's answer to the multipart form, the import kept on success
        (unless a test asked for the next imports to be acknowledged only)."""
        file, md5, size, time_zone = (parts.get(name) for name in ("file", "md5", "fileSize", "timeZone"))
        if file is None or md5 is None or size is None or time_zone is None:
            return INVALID_FILE
        data = file.content
        if len(data) > self.max_file_bytes:
            return FILE_TOO_LARGE
        declared_md5 = md5.content.decode(errors="replace").strip().lower()
        zone = time_zone.content.decode(errors="replace").strip()
        if size.content.strip() != str(len(data)).encode() or declared_md5 != _md5(data):
            return INVALID_FILE
        if not is_time_zone(zone) or not is_sound_fit(data):
            return INVALID_FILE
        import_id = str(secrets.randbelow(9 * 10**17) + 10**17)
        if self._pretended > 0:
            self._pretended -= 1
        else:
            self._imports.setdefault(user_id, {})[import_id] = CorosImport(
                import_id=import_id,
                file=data,
                md5=declared_md5,
                time_zone=zone,
                file_name=file.filename or "",
                imported_at=now,
            )
        data_answer = {"importId": import_id, "status": "processing"}
        return {"result": "0000", "data": data_answer, "message": "Upload successful"}

    def import_list(self, user_id: str) -> dict[str, Any]:
        """`POST /activity/fit/getImportSportList`: the account's imports, the most recent first."""
        listed = [i.listed() for i in reversed(self.of(user_id))]
        return {**COROS_HUB_OK, "data": listed}

    def delete(self, user_id: str, import_id: object) -> dict[str, Any]:
        """`POST /activity/fit/deleteSportImport`: only the account's own imports can go."""
        removed = self._imports.get(user_id, {}).pop(str(import_id), None)
        return IMPORT_NOT_FOUND if removed is None else {**COROS_HUB_OK, "data": None}

    def of(self, user_id: str) -> list[CorosImport]:
        """The account's imports, oldest first."""
        return list(self._imports.get(user_id, {}).values())


class GarminStoredWorkout(BaseModel):
    """A workout of a Garmin Connect account: the document `GET /workout-service/workout/{id}` answers,
    and the dates it is scheduled on, earliest first."""

    model_config = ConfigDict(extra="forbid")

    workout_id: int
    document: dict[str, Any]
    scheduled_dates: list[date] = Field(default_factory=list)


@dataclass
class _Workout:
    user_id: str
    document: dict[str, Any]
    schedules: dict[int, date] = field(default_factory=dict)


def _connect_time(moment: datetime) -> str:
    """Garmin Connect's way of writing a time: UTC, no zone, one decimal."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0")


class GarminWorkouts:
    """The workouts of each Garmin Connect account (by the athlete's Garmin user id) and their calendar."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._workouts: dict[int, _Workout] = {}
        self._owner_ids: dict[str, int] = {}
        self._workout_ids = itertools.count(_rng.randint(1_000_000_000, 1_200_000_000))
        self._step_ids = itertools.count(_rng.randint(9_000_000_000, 9_500_000_000))
        self._schedule_ids = itertools.count(_rng.randint(1_300_000_000, 1_500_000_000))
        self._pretended = 0

    def pretend_next(self, times: int) -> None:
        self._pretended += times

    def owner_id(self, user_id: str) -> int:
        """The account's Connect profile id, which Connect writes as the workouts' `ownerId`."""
        return self._owner_ids.setdefault(user_id, _rng.randint(10_000_000, 129_999_999))

    def create(self, user_id: str, document: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The stored workout: the document with Connect's ids and dates added (kept unless a test asked
        for the next creations to be acknowledged only)."""
        stored = copy.deepcopy(document)
        stored |= {
            "workoutId": next(self._workout_ids),
            "ownerId": self.owner_id(user_id),
            "createdDate": _connect_time(now),
            "updatedDate": _connect_time(now),
        }
        self._number_steps(stored)
        if self._pretended > 0:
            self._pretended -= 1
        else:
            self._workouts[stored["workoutId"]] = _Workout(user_id, stored)
        return copy.deepcopy(stored)

    def get(self, user_id: str, workout_id: int) -> dict[str, Any] | None:
        workout = self._owned(user_id, workout_id)
        return None if workout is None else copy.deepcopy(workout.document)

    def replace(self, user_id: str, workout_id: int, document: dict[str, Any], now: datetime) -> bool:
        """The document replaces the workout's; its id, owner and creation date stay."""
        workout = self._owned(user_id, workout_id)
        if workout is None:
            return False
        kept = {k: workout.document[k] for k in ("workoutId", "ownerId", "createdDate")}
        stored = copy.deepcopy(document) | kept | {"updatedDate": _connect_time(now)}
        self._number_steps(stored)
        workout.document = stored
        return True

    def delete(self, user_id: str, workout_id: int) -> bool:
        """Deleting a workout takes it off the calendar too."""
        if self._owned(user_id, workout_id) is None:
            return False
        del self._workouts[workout_id]
        return True

    def schedule(self, user_id: str, workout_id: int, day: date, now: datetime) -> dict[str, Any] | None:
        workout = self._owned(user_id, workout_id)
        if workout is None:
            return None
        schedule_id = next(self._schedule_ids)
        workout.schedules[schedule_id] = day
        return {
            "workoutScheduleId": schedule_id,
            "workout": copy.deepcopy(workout.document),
            "calendarDate": day.isoformat(),
            "createdDate": _connect_time(now),
            "ownerId": self.owner_id(user_id),
            "newName": None,
            "consumer": None,
            "associatedActivityId": None,
            "priority": None,
        }

    def unschedule(self, user_id: str, schedule_id: int) -> bool:
        for workout in self._workouts.values():
            if workout.user_id == user_id and schedule_id in workout.schedules:
                del workout.schedules[schedule_id]
                return True
        return False

    def listed(self, user_id: str, start: int, limit: int) -> list[dict[str, Any]]:
        """`GET /workout-service/workouts`: the account's workouts, newest first, as Connect summarises
        them (no steps)."""
        owned = [w.document for w in reversed(self._workouts.values()) if w.user_id == user_id]
        return [
            {k: v for k, v in document.items() if k != "workoutSegments"}
            for document in owned[start : start + limit]
        ]

    def of(self, user_id: str) -> list[GarminStoredWorkout]:
        """The account's workouts, oldest first."""
        return [
            GarminStoredWorkout(
                workout_id=workout_id,
                document=copy.deepcopy(workout.document),
                scheduled_dates=sorted(workout.schedules.values()),
            )
            for workout_id, workout in self._workouts.items()
            if workout.user_id == user_id
        ]

    def _owned(self, user_id: str, workout_id: int) -> _Workout | None:
        workout = self._workouts.get(workout_id)
        return workout if workout is not None and workout.user_id == user_id else None

    def _number_steps(self, document: dict[str, Any]) -> None:
        """Connect gives every step, repeat groups and the steps inside them included, a `stepId`; a step
        that already has one keeps it."""

        def number(steps: list[dict[str, Any]]) -> None:
            for step in steps:
                if not isinstance(step.get("stepId"), int):
                    step["stepId"] = next(self._step_ids)
                number(step.get("workoutSteps") or [])

        for segment in document.get("workoutSegments", []):
            number(segment["workoutSteps"])


def _md5(data: bytes) -> str:
    # The hub's own integrity check on uploads; not a choice of ours.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
