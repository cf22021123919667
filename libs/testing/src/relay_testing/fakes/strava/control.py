"""How tests drive the fake Strava: `FakeStrava` in the test's own process (served on a free port of
127.0.0.1 by `serve_fake_strava`), or `FakeStravaClient` for one running as a separate process
(`python -m relay_testing.fakes.strava`). Both offer the same awaitable controls."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

import httpx

from relay_testing.fakes.strava.app import CONTROL_PREFIX, QuietDroppedConnections, create_app
from relay_testing.fakes.strava.state import (
    ActivityPut,
    Consent,
    Failure,
    FailureMode,
    FailureTarget,
    GrantView,
    HistoryOrder,
    RateLimits,
    ReceivedRequest,
    StravaAthlete,
    StravaState,
)
from relay_testing.serving import serve_asgi


class StravaControl(Protocol):
    """The controls a test has over a fake Strava, wherever it runs."""

    url: str
    client_id: str
    client_secret: str

    async def queue_athlete(
        self, athlete: StravaAthlete | None = None, *, scopes: list[str] | None = None, **fields: Any
    ) -> StravaAthlete: ...

    async def deny_next(self) -> None: ...

    async def fail_next(
        self,
        mode: FailureMode,
        *,
        times: int = 1,
        seconds: float = 5.0,
        endpoint: FailureTarget = "token",
        for_seconds: float | None = None,
    ) -> None: ...

    async def set_rate_limits(
        self, rate_limit: tuple[int, int], read_rate_limit: tuple[int, int]
    ) -> RateLimits: ...

    async def reset_usage(self) -> None: ...

    async def advance_clock(self, seconds: float) -> float: ...

    async def issue_grant(
        self, athlete: StravaAthlete | None = None, *, scopes: list[str] | None = None
    ) -> dict[str, Any]: ...

    async def grants(self) -> list[GrantView]: ...

    async def revoke_grant(self, athlete_id: int) -> bool: ...

    async def put_activity(self, athlete_id: int, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def remove_activity(self, activity_id: int) -> bool: ...

    async def add_history(
        self,
        athlete_id: int,
        count: int,
        *,
        end: datetime | None = None,
        seed: int = 0,
        first_id: int | None = None,
    ) -> list[int]: ...

    async def activities(self, athlete_id: int) -> list[dict[str, Any]]: ...

    async def received(self, path: str | None = None) -> list[ReceivedRequest]: ...

    async def last_token_request(self) -> dict[str, str] | None: ...

    async def reset(self) -> None: ...


def _athlete(athlete: StravaAthlete | None, fields: dict[str, Any]) -> StravaAthlete:
    if athlete is None:
        return StravaAthlete(**fields)
    return athlete.model_copy(update=fields) if fields else athlete


def _last_token_fields(requests: list[ReceivedRequest]) -> dict[str, str] | None:
    tokens = [r for r in requests if r.path == "/oauth/token"]
    return tokens[-1].fields if tokens else None


class FakeStrava:
    """A fake Strava application: `client_id`, `client_secret`, its state and its ASGI `app`.

    The consent page approves at once, for the athlete a test queued (else `default_athlete`).
    `url` is known once it is served (`serve_fake_strava`); in-process tests may also mount `app`
    on an `httpx.ASGITransport`.
    """

    def __init__(
        self,
        *,
        client_id: str = "41592",
        client_secret: str | None = None,
        default_athlete: StravaAthlete | None = None,
        callback_domain: str | None = None,
        rate_limit: tuple[int, int] = (200, 2000),
        read_rate_limit: tuple[int, int] = (100, 1000),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_hex(20)
        self.state = StravaState(
            client_id=self.client_id,
            client_secret=self.client_secret,
            default_athlete=default_athlete,
            callback_domain=callback_domain,
            rate_limit=rate_limit,
            read_rate_limit=read_rate_limit,
        )
        self.app = create_app(self.state)
        self._url: str | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`: the base of every Strava URL (`/oauth/...`, `/api/v3/...`)."""
        if self._url is None:
            raise RuntimeError("the fake Strava is not served: use `serve_fake_strava`")
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        self._url = value

    async def queue_athlete(
        self, athlete: StravaAthlete | None = None, *, scopes: list[str] | None = None, **fields: Any
    ) -> StravaAthlete:
        """The next authorization approves as this athlete (built from `fields` when not given),
        keeping only `scopes` of those asked (all of them when None)."""
        chosen = _athlete(athlete, fields)
        self.state.queue_consent(Consent(athlete=chosen, scopes=scopes))
        return chosen

    async def deny_next(self) -> None:
        """The next authorization is refused: `error=access_denied` on the redirect."""
        self.state.queue_consent(Consent(deny=True))

    async def fail_next(
        self,
        mode: FailureMode,
        *,
        times: int = 1,
        seconds: float = 5.0,
        endpoint: FailureTarget = "token",
        for_seconds: float | None = None,
    ) -> None:
        """The next `times` calls to `endpoint` (`refresh`: the token endpoint's refresh grants only)
        fail, and with `for_seconds` every other call until that time from now is over: `down` (503 from
        the CDN), `disconnect` (the connection drops mid-response), `slow` (answers after `seconds`),
        `rate_limited` (429, with the rate-limit headers) or `server_error` (500). Failures meant for
        the same calls strike in the order they were added."""
        self.state.add_failure(
            Failure(mode=mode, times=times, seconds=seconds, endpoint=endpoint, for_seconds=for_seconds)
        )

    async def set_rate_limits(
        self, rate_limit: tuple[int, int], read_rate_limit: tuple[int, int]
    ) -> RateLimits:
        """Gives the application other limits (15 minutes, day) from now on; returns the previous ones."""
        return self.state.set_rate_limits(RateLimits(rate_limit=rate_limit, read_rate_limit=read_rate_limit))

    async def reset_usage(self) -> None:
        """Forgets the requests counted so far (the usage headers start again from 0): a test that spent
        many requests leaves the application's limits as it found them."""
        self.state.reset_usage()

    async def advance_clock(self, seconds: float) -> float:
        """Moves Strava's clock (code and token expiry, rate-limit windows); returns its epoch time."""
        return self.state.advance_clock(seconds)

    async def issue_grant(
        self, athlete: StravaAthlete | None = None, *, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        """Strava's token answer for an athlete who has just authorized, without the browser round trip."""
        return self.state.issue_grant(athlete, scopes)

    async def grants(self) -> list[GrantView]:
        """The athletes who currently authorize the application (deauthorized ones are gone)."""
        return self.state.grants()

    async def revoke_grant(self, athlete_id: int) -> bool:
        """As when the athlete removes the application in their Strava settings: their access tokens
        answer 401 and their refresh token is refused from now on. Returns whether they had authorized
        the application."""
        return self.state.revoke_grant(athlete_id)

    async def put_activity(self, athlete_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Adds an activity to the athlete's, or edits theirs with the same `id` (the given fields replace
        the stored ones), as the athlete would on Strava. A new activity's missing fields come from
        `strava_activity`. Returns the DetailedActivity that `GET /api/v3/activities/{id}` now gives."""
        return self.state.activities.put(athlete_id, payload)

    async def remove_activity(self, activity_id: int) -> bool:
        """Deletes the activity, as its athlete would on Strava; returns whether it existed."""
        return self.state.activities.remove(activity_id)

    async def add_history(
        self,
        athlete_id: int,
        count: int,
        *,
        end: datetime | None = None,
        seed: int = 0,
        first_id: int | None = None,
    ) -> list[int]:
        """Gives the athlete `count` activities before `end` (the fake's now when None), generated by
        `strava_history` with the same arguments; returns their ids, oldest first."""
        order = HistoryOrder(athlete_id=athlete_id, count=count, end=end, seed=seed, first_id=first_id)
        return self.state.add_history(order)

    async def activities(self, athlete_id: int) -> list[dict[str, Any]]:
        """The athlete's DetailedActivities, oldest first, private ones included."""
        return [stored.detail for stored in self.state.activities.of(athlete_id)]

    async def received(self, path: str | None = None) -> list[ReceivedRequest]:
        """The requests received on Strava's URLs, oldest first (only those to `path` when given)."""
        return [r for r in self.state.received if path is None or r.path == path]

    async def last_token_request(self) -> dict[str, str] | None:
        """The parameters of the last `POST /oauth/token`, as sent (client secret included)."""
        return _last_token_fields(self.state.received)

    async def reset(self) -> None:
        self.state.reset()


class FakeStravaClient:
    """The same controls, over HTTP, for a fake Strava running as its own process."""

    def __init__(self, url: str, *, client_id: str, client_secret: str) -> None:
        self.url = url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=f"{self.url}{CONTROL_PREFIX}", timeout=5.0) as client:
            response = await client.request(method, path, json=json)
        response.raise_for_status()
        return response.json() if response.content else None

    async def queue_athlete(
        self, athlete: StravaAthlete | None = None, *, scopes: list[str] | None = None, **fields: Any
    ) -> StravaAthlete:
        chosen = _athlete(athlete, fields)
        await self._call("POST", "/consents", Consent(athlete=chosen, scopes=scopes).model_dump(mode="json"))
        return chosen

    async def deny_next(self) -> None:
        await self._call("POST", "/consents", {"deny": True})

    async def fail_next(
        self,
        mode: FailureMode,
        *,
        times: int = 1,
        seconds: float = 5.0,
        endpoint: FailureTarget = "token",
        for_seconds: float | None = None,
    ) -> None:
        failure = Failure(mode=mode, times=times, seconds=seconds, endpoint=endpoint, for_seconds=for_seconds)
        await self._call("POST", "/failures", failure.model_dump(mode="json"))

    async def set_rate_limits(
        self, rate_limit: tuple[int, int], read_rate_limit: tuple[int, int]
    ) -> RateLimits:
        limits = RateLimits(rate_limit=rate_limit, read_rate_limit=read_rate_limit)
        return RateLimits.model_validate(
            await self._call("PUT", "/rate-limits", limits.model_dump(mode="json"))
        )

    async def reset_usage(self) -> None:
        await self._call("POST", "/rate-limits/usage-reset")

    async def advance_clock(self, seconds: float) -> float:
        answer = await self._call("POST", "/clock", {"advance_seconds": seconds})
        return float(answer["now"])

    async def issue_grant(
        self, athlete: StravaAthlete | None = None, *, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call(
            "POST", "/grants", Consent(athlete=athlete, scopes=scopes).model_dump(mode="json")
        )
        return answer

    async def grants(self) -> list[GrantView]:
        return [GrantView.model_validate(g) for g in await self._call("GET", "/grants")]

    async def revoke_grant(self, athlete_id: int) -> bool:
        return bool((await self._call("POST", f"/athletes/{athlete_id}/revocation"))["revoked"])

    async def put_activity(self, athlete_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        body = ActivityPut(athlete_id=athlete_id, payload=payload).model_dump(mode="json")
        stored: dict[str, Any] = await self._call("PUT", "/activities", body)
        return stored

    async def remove_activity(self, activity_id: int) -> bool:
        return bool((await self._call("DELETE", f"/activities/{activity_id}"))["removed"])

    async def add_history(
        self,
        athlete_id: int,
        count: int,
        *,
        end: datetime | None = None,
        seed: int = 0,
        first_id: int | None = None,
    ) -> list[int]:
        order = HistoryOrder(athlete_id=athlete_id, count=count, end=end, seed=seed, first_id=first_id)
        answer = await self._call("POST", "/activities/history", order.model_dump(mode="json"))
        return [int(activity_id) for activity_id in answer["ids"]]

    async def activities(self, athlete_id: int) -> list[dict[str, Any]]:
        held: list[dict[str, Any]] = await self._call("GET", f"/athletes/{athlete_id}/activities")
        return held

    async def received(self, path: str | None = None) -> list[ReceivedRequest]:
        requests = [ReceivedRequest.model_validate(r) for r in await self._call("GET", "/requests")]
        return [r for r in requests if path is None or r.path == path]

    async def last_token_request(self) -> dict[str, str] | None:
        return _last_token_fields(await self.received())

    async def reset(self) -> None:
        await self._call("POST", "/reset")


@contextlib.asynccontextmanager
async def serve_fake_strava(fake: FakeStrava | None = None, **options: Any) -> AsyncIterator[FakeStrava]:
    """Serves `fake` (or a new `FakeStrava(**options)`) on a free port of 127.0.0.1 in the running
    event loop, for as long as the block lasts: `async with serve_fake_strava() as fake: fake.url`."""
    fake = fake or FakeStrava(**options)
    async with serve_asgi(fake.app, name="fake-strava", log_filter=QuietDroppedConnections()) as url:
        fake.url = url
        yield fake
