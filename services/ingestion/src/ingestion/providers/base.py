"""What every provider module gives the ingestion worker: its activities in Relay's one model
(`ActivityData`), read from what a webhook pushed or fetched from the provider's API through
`ProviderHttp`, which spends the provider application's shared request budget and turns the
provider's answers into the few outcomes the worker acts on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field

from relay_platform.http import retry_after_seconds

Sport = Literal[
    "run",
    "bike",
    "swim",
    "walk",
    "hike",
    "row",
    "ski",
    "strength",
    "cardio",
    "yoga",
    "other",
]
"""Relay's sports: what stats, deduplication and planning compare. The provider's own type is kept
next to it (`sport_type`), and `sub_sport` says more where the provider does."""

SubSport = Literal[
    "road",
    "trail",
    "track",
    "treadmill",
    "indoor",
    "virtual",
    "mountain",
    "gravel",
    "pool",
    "open_water",
    "e_bike",
]

RequestKind = Literal["read", "write"]
Priority = Literal["live", "backfill"]


class ActivityData(BaseModel):
    """One activity as a provider describes it, in Relay's units (SI: metres, seconds, m/s, watts,
    beats per minute, kilocalories). Missing values are None, never 0."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    external_id: str = Field(description="The activity's id at the provider (Relay upserts by it).")
    provider_user_id: str | None = None
    sport: Sport
    sub_sport: SubSport | None = None
    sport_type: str = Field(description="The provider's own type, as given (`Run`, `running`, `25`, ...).")
    name: str | None = None
    start_time: datetime = Field(description="Start, timezone-aware (UTC).")
    timezone: str | None = Field(default=None, description="IANA name when the provider gives one.")
    utc_offset_seconds: int | None = Field(default=None, description="Local time minus UTC at the start.")
    elapsed_time_s: int | None = None
    moving_time_s: int | None = None
    distance_m: float | None = None
    elevation_gain_m: float | None = None
    average_heartrate: float | None = None
    max_heartrate: float | None = None
    average_power_w: float | None = None
    max_power_w: float | None = None
    normalized_power_w: float | None = None
    average_speed_mps: float | None = None
    max_speed_mps: float | None = None
    average_cadence: float | None = None
    calories: float | None = None
    device_name: str | None = None
    is_manual: bool = False
    raw: dict[str, Any] = Field(description="The provider's payload, kept for reprocessing.")


@dataclass(frozen=True)
class Notification:
    """What one webhook notification says, once its origin is verified: about one object of one
    provider account. Push providers put the data itself in `payload`."""

    provider: str
    owner_id: str
    object_type: str
    object_id: str
    aspect_type: Literal["create", "update", "delete"]
    event_time: datetime
    payload: dict[str, Any]
    updates: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Fetched:
    """What a notification led to: activities to upsert and ids deleted at the provider."""

    activities: list[ActivityData] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass
class Page:
    """One page of an athlete's activities over a period; `cursor` is None after the last page and is
    otherwise stored (JSON) so that a backfill resumes there after a crash."""

    activities: list[ActivityData]
    cursor: dict[str, Any] | None
    expected_total: int | None = None


def started_within(
    payloads: Iterable[Any],
    normalize: Callable[[dict[str, Any]], ActivityData | None],
    since: datetime,
    until: datetime,
) -> list[ActivityData]:
    """The payloads of a listing that are objects and read as activities started in [since, until)
    (providers' bounds are often days or inclusive; what falls outside the period is dropped)."""
    activities = (normalize(p) for p in payloads if isinstance(p, dict))
    return [a for a in activities if a is not None and since <= a.start_time < until]


class ProviderProblem(Exception):
    """The provider did not give what was asked; the worker decides what to do from the subclass."""


class NotFoundAtProvider(ProviderProblem):
    """404: the object is gone (deleted, or private to Relay)."""


class TokenRejected(ProviderProblem):
    """401/403: the athlete's token is refused; the connection needs attention."""


class RateLimited(ProviderProblem):
    """The provider application's budget is spent (429, or Relay's own count): try again at `retry_at`."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class ProviderUnavailable(ProviderProblem):
    """5xx, timeouts, broken connections, unreadable answers: worth retrying later."""


class Budget(Protocol):
    """The provider application's request budget, shared by every replica."""

    async def acquire(self, provider: str, kind: RequestKind, priority: Priority) -> None:
        """Counts one request, or raises `RateLimited` when it would exceed a limit."""

    async def observe(self, provider: str, response: httpx.Response) -> datetime | None:
        """Learns from the provider's rate-limit headers and 429s (usage counted elsewhere too); after a
        429, returns when the budget reopens."""


class ProviderHttp:
    """HTTP calls to one provider's API on behalf of one athlete: the bearer token, the shared budget
    and the mapping of the provider's answers to `ProviderProblem`s."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        provider: str,
        base_url: str,
        access_token: str,
        provider_user_id: str,
        budget: Budget,
        priority: Priority,
    ) -> None:
        self.client = client
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.provider_user_id = provider_user_id
        """The athlete's id at the provider (COROS's `openId`, ...)."""
        self.budget = budget
        self.priority = priority

    async def get_json(
        self, path_or_url: str, params: Mapping[str, str | int] | None = None, *, auth: str = "bearer"
    ) -> Any:
        """GETs `path_or_url` (a path under the API's base URL, or a URL on its origin) and returns the
        parsed JSON. `auth` is `bearer` (header), `none`, or `query:<name>` (the token as a query
        parameter, as COROS's official API wants it)."""
        url = path_or_url if path_or_url.startswith("http") else f"{self.base_url}{path_or_url}"
        if not _same_origin(url, self.base_url):
            raise ProviderUnavailable(f"{self.provider} pointed at a URL outside its API")
        headers: dict[str, str] = {}
        query: dict[str, str | int] = dict(params or {})
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {self.access_token}"
        elif auth.startswith("query:"):
            query[auth.removeprefix("query:")] = self.access_token
        await self.budget.acquire(self.provider, "read", self.priority)
        try:
            # Merged into the URL: httpx's `params=` would drop a query the URL already has (callbacks).
            response = await self.client.get(httpx.URL(url).copy_merge_params(query), headers=headers)
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"{self.provider} did not answer: {type(error).__name__}") from error
        reopens = await self.budget.observe(self.provider, response)
        if response.status_code == 404:
            raise NotFoundAtProvider(f"{self.provider}: not found")
        if response.status_code in (401, 403):
            raise TokenRejected(f"{self.provider} refused the athlete's token ({response.status_code})")
        if response.status_code == 429:
            # When the shared budget reopens (its windows may be shorter than a quarter of an hour).
            raise RateLimited(f"{self.provider} answered 429", retry_at=reopens or _retry_at(response))
        if response.status_code >= 400:
            raise ProviderUnavailable(f"{self.provider} answered {response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise ProviderUnavailable(f"{self.provider} answered something that is not JSON") from error


def _same_origin(url: str, base_url: str) -> bool:
    target, base = httpx.URL(url), httpx.URL(base_url)
    return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)


def _retry_at(response: httpx.Response) -> datetime:
    wait = retry_after_seconds(response)
    now = datetime.now(UTC)
    if wait is not None:
        return now + timedelta(seconds=wait)
    # Without Retry-After (Strava sends none), the next quarter-hour: when windows like Strava's reopen.
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) + timedelta(minutes=15)


class ProviderApi(Protocol):
    """One provider's reading of activities: from a notification, and page by page over a period."""

    provider: str
    auth: str
    """How the token is sent: `bearer`, or `query:<name>`."""

    async def fetch(self, http: ProviderHttp, notification: Notification) -> Fetched:
        """The activities a notification is about: read from its payload for push providers, fetched
        for the others; a deletion lists the ids in `Fetched.deleted`."""

    async def list_activities(
        self, http: ProviderHttp, since: datetime, until: datetime, cursor: dict[str, Any] | None
    ) -> Page:
        """One page of the athlete's activities that started in [since, until), from `cursor` (None
        for the first page)."""
