"""What pushing a workout to a provider can end in, whichever provider it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx

from relay_contracts.workouts import StructuredWorkout


@dataclass(frozen=True)
class Outgoing:
    """A workout as it leaves for the provider, with what finds it again there."""

    export_id: str
    reference: str
    """Names the upload at the provider (file name, description): how a workout created by an attempt
    that got no answer is found again instead of being created twice."""
    workout: StructuredWorkout
    scheduled_date: date
    time_zone: str
    description: str


@dataclass(frozen=True)
class Pushed:
    """The provider's ids of a workout it holds."""

    workout_id: str
    schedule_id: str | None = None


class TokenRejected(Exception):
    """The provider refused the athlete's token: the athlete must link the account again."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider} refused the access token ({reason})")
        self.reason = reason


class WorkoutRefused(Exception):
    """The provider refused this workout for good (`reason`: invalid_file, file_too_large...)."""

    def __init__(self, provider: str, reason: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.reason = reason


class NotCreated(Exception):
    """The provider answered success, yet does not hold the workout."""


class ProviderUnavailable(Exception):
    """The provider failed, was slow or limited us: worth another attempt later."""


class WorkoutPusher(Protocol):
    key: str

    async def create(self, token: str, outgoing: Outgoing) -> Pushed: ...

    async def update(self, token: str, pushed: Pushed, outgoing: Outgoing, moved: bool) -> tuple[Pushed, str]:
        """The workout updated in place (`updated`), or deleted and created again (`replaced`)."""
        ...

    async def find(self, token: str, outgoing: Outgoing) -> Pushed | None: ...

    async def finish(self, token: str, found: Pushed, outgoing: Outgoing, moved: bool) -> Pushed:
        """The workout an attempt that got no answer left at the provider (`find`), finished as a push
        finishes it: on Garmin's calendar on its day (`moved`: not the day it was last pushed for)."""
        ...

    async def holds(self, token: str, pushed: Pushed, outgoing: Outgoing) -> bool:
        """Whether the provider holds the workout as it was sent (read back)."""
        ...

    async def remove(self, token: str, pushed: Pushed) -> None: ...


async def call(
    http: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """One provider call; a network failure or timeout is `ProviderUnavailable`."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.HTTPError as error:
        raise ProviderUnavailable(f"{provider} did not answer: {type(error).__name__}") from error
