"""Garmin Connect's workout service (the seed's route, with the athlete's OAuth 2.0 token): a workout is
created as JSON, then scheduled on the session's date; it can be read back, replaced in place and
deleted. Garmin refuses structured workouts sent as FIT files on this route (PROVIDERS.md)."""

from __future__ import annotations

from typing import Any

import httpx

from export.garmin_json import garmin_workout, workout_from_garmin
from export.providers.base import (
    NotCreated,
    Outgoing,
    ProviderUnavailable,
    Pushed,
    TokenRejected,
    WorkoutRefused,
    call,
)
from relay_platform.logging import get_logger

log = get_logger(__name__)

KEY = "garmin"
LISTED = 100
"""Workouts read when looking for one an unanswered attempt may have created (the newest come first)."""


class GarminWorkouts:
    """`WorkoutPusher` for Garmin Connect."""

    key = KEY

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def create(self, token: str, outgoing: Outgoing) -> Pushed:
        created = await self._call(
            "create", token, "POST", "/workout-service/workout", json=document(outgoing)
        )
        workout_id = created.get("workoutId") if isinstance(created, dict) else None
        if workout_id is None:
            raise ProviderUnavailable("Garmin answered no workoutId")
        return Pushed(str(workout_id), await self._schedule(token, str(workout_id), outgoing))

    async def update(self, token: str, pushed: Pushed, outgoing: Outgoing, moved: bool) -> tuple[Pushed, str]:
        if await self._read(token, pushed.workout_id) is None:
            # Deleted on Garmin by the athlete: made again.
            return await self.create(token, outgoing), "replaced"
        body = {**document(outgoing), "workoutId": int(pushed.workout_id)}
        await self._call("update", token, "PUT", f"/workout-service/workout/{pushed.workout_id}", json=body)
        return await self.finish(token, pushed, outgoing, moved), "updated"

    async def finish(self, token: str, found: Pushed, outgoing: Outgoing, moved: bool) -> Pushed:
        # Garmin's calendar is not read back: a schedule Relay does not know of is taken as missing (the
        # attempt that created the workout got no answer, or failed, before scheduling it).
        schedule_id = found.schedule_id
        if moved or schedule_id is None:
            if schedule_id is not None:
                await self._call("unschedule", token, "DELETE", f"/workout-service/schedule/{schedule_id}")
            schedule_id = await self._schedule(token, found.workout_id, outgoing)
        return Pushed(found.workout_id, schedule_id)

    async def find(self, token: str, outgoing: Outgoing) -> Pushed | None:
        listed = await self._call(
            "list", token, "GET", "/workout-service/workouts", params={"start": 0, "limit": LISTED}
        )
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and outgoing.reference in str(item.get("description") or ""):
                return Pushed(str(item["workoutId"]))
        return None

    async def holds(self, token: str, pushed: Pushed, outgoing: Outgoing) -> bool:
        stored = await self._read(token, pushed.workout_id)
        if stored is None:
            return False
        try:
            return workout_from_garmin(stored) == workout_from_garmin(document(outgoing))
        except (ValueError, KeyError, TypeError):
            return False

    async def remove(self, token: str, pushed: Pushed) -> None:
        await self._call(
            "delete", token, "DELETE", f"/workout-service/workout/{pushed.workout_id}", missing_ok=True
        )

    async def _schedule(self, token: str, workout_id: str, outgoing: Outgoing) -> str | None:
        scheduled = await self._call(
            "schedule",
            token,
            "POST",
            f"/workout-service/schedule/{workout_id}",
            json={"date": outgoing.scheduled_date.isoformat()},
            missing_ok=True,
        )
        if scheduled is None:
            raise NotCreated(f"Garmin does not hold workout {workout_id}: it cannot be scheduled")
        schedule_id = scheduled.get("workoutScheduleId") if isinstance(scheduled, dict) else None
        return str(schedule_id) if schedule_id is not None else None

    async def _read(self, token: str, workout_id: str) -> dict[str, Any] | None:
        stored = await self._call(
            "read", token, "GET", f"/workout-service/workout/{workout_id}", missing_ok=True
        )
        return stored if isinstance(stored, dict) else None

    async def _call(
        self, name: str, token: str, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> Any:
        response = await call(
            self._http,
            "Garmin",
            method,
            self._base_url + path,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
        log.info("garmin_called", call=name, status=response.status_code)
        if response.status_code in (401, 403):
            raise TokenRejected("Garmin", "unauthorized")
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 400:
            raise WorkoutRefused(
                "Garmin", "invalid_file", f"Garmin refused the workout: {response.text[:200]}"
            )
        if response.status_code >= 300:
            raise ProviderUnavailable(f"Garmin {name} answered HTTP {response.status_code}")
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise ProviderUnavailable(f"Garmin {name} answered no JSON") from error


def document(outgoing: Outgoing) -> dict[str, Any]:
    return garmin_workout(outgoing.workout, description=outgoing.description)
