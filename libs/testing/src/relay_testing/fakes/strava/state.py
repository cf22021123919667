"""What the fake Strava remembers and decides: athletes, the consents tests queue, authorization codes,
grants and their tokens, athletes' activities, injected failures, the application's request counts, and a
clock tests can move. Nothing here knows about HTTP; `app.py` puts it behind Strava's URLs."""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from relay_testing.fakes.strava.activities import HISTORY_BLOCK, ActivityStore, strava_history

SCOPES = (
    "read",
    "read_all",
    "profile:read_all",
    "profile:write",
    "activity:read",
    "activity:read_all",
    "activity:write",
)
ACCESS_TOKEN_SECONDS = 6 * 60 * 60
CODE_SECONDS = 10 * 60
# Strava hands back the current access token on refresh unless it expires within the hour.
ACCESS_TOKEN_REISSUED_WITHIN_SECONDS = 60 * 60
SHORT_WINDOW_SECONDS = 15 * 60
DAY_SECONDS = 24 * 60 * 60
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})
PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 200

FailureMode = Literal["down", "disconnect", "slow", "rate_limited", "server_error"]
Endpoint = Literal["authorize", "token", "deauthorize", "api"]
FailureTarget = Literal["authorize", "token", "refresh", "deauthorize", "api", "any"]
"""Where a failure strikes: one endpoint, `refresh` (the token endpoint's refresh grants only) or `any`."""


def strava_error_body(message: str, resource: str, field: str, code: str) -> dict[str, Any]:
    """Strava's error shape: `{"message", "errors": [{"resource", "field", "code"}]}`."""
    return {"message": message, "errors": [{"resource": resource, "field": field, "code": code}]}


RATE_LIMIT_EXCEEDED = strava_error_body("Rate Limit Exceeded", "Application", "rate limit", "exceeded")


class StravaError(Exception):
    """An answer Strava gives with an error status; `app.py` turns it into the JSON response."""

    def __init__(self, status: int, message: str, resource: str, field: str, code: str = "invalid") -> None:
        super().__init__(f"{status} {resource}.{field} {code}")
        self.status = status
        self.body = strava_error_body(message, resource, field, code)


def bad_request(resource: str, field: str) -> StravaError:
    return StravaError(400, "Bad Request", resource, field)


def authorization_error(resource: str, field: str) -> StravaError:
    return StravaError(401, "Authorization Error", resource, field)


def record_not_found() -> StravaError:
    return StravaError(404, "Record Not Found", "Activity", "id")


def _new_token() -> str:
    return secrets.token_hex(20)  # Strava's codes and tokens are 40 hex characters


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StravaAthlete(BaseModel):
    """An athlete as Strava describes them. The defaults describe an invented athlete."""

    model_config = ConfigDict(extra="forbid")

    id: int = 134815
    username: str | None = None
    firstname: str = "Sam"
    lastname: str = "Okafor"
    bio: str | None = None
    city: str | None = "Annecy"
    state: str | None = "Auvergne-Rhône-Alpes"
    country: str | None = "France"
    sex: Literal["M", "F"] | None = "M"
    premium: bool = False
    summit: bool = False
    weight: float | None = 68.0
    profile: str = "https://dgalywyr863hv.cloudfront.net/pictures/athletes/134815/large.jpg"
    profile_medium: str | None = Field(default=None, description="Derived from `profile` when absent.")
    created_at: datetime = datetime(2016, 3, 2, 7, 12, 44, tzinfo=UTC)
    updated_at: datetime = datetime(2026, 1, 5, 18, 30, 2, tzinfo=UTC)

    def summary(self) -> dict[str, Any]:
        """The summary representation (`resource_state` 2) that comes with a token exchange."""
        return {
            "id": self.id,
            "username": self.username,
            "resource_state": 2,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "bio": self.bio,
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "sex": self.sex,
            "premium": self.premium,
            "summit": self.summit,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "badge_type_id": 0,
            "weight": self.weight,
            "profile_medium": self.profile_medium or self.profile.replace("large.", "medium."),
            "profile": self.profile,
            "friend": None,
            "follower": None,
        }

    def detail(self) -> dict[str, Any]:
        """The detailed representation (`resource_state` 3) of `GET /api/v3/athlete`."""
        return {
            **self.summary(),
            "resource_state": 3,
            "blocked": False,
            "can_follow": True,
            "follower_count": 0,
            "friend_count": 0,
            "mutual_friend_count": 0,
            "athlete_type": 1,
            "date_preference": "%m/%d/%Y",
            "measurement_preference": "meters",
            "clubs": [],
            "ftp": None,
            "bikes": [],
            "shoes": [],
        }


class Consent(BaseModel):
    """What the athlete does on Strava's consent page at the next authorization."""

    athlete: StravaAthlete | None = Field(default=None, description="None: the fake's default athlete.")
    scopes: list[str] | None = Field(
        default=None, description="Scopes the athlete leaves ticked (of those asked); None: all of them."
    )
    deny: bool = False


class Failure(BaseModel):
    """The next `times` requests to `endpoint` fail this way instead of being answered, and with
    `for_seconds` every other one until that time is over."""

    mode: FailureMode
    times: int = Field(default=1, ge=1)
    seconds: float = Field(default=5.0, ge=0, description="How long `slow` waits before answering.")
    endpoint: FailureTarget = "token"
    for_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Every request to `endpoint` fails for this long (on the fake's clock) from when the "
        "failure is added, however many there are; the failure ends once its time and its `times` "
        "requests are both over.",
    )

    def strikes(self, endpoint: Endpoint, *, refreshing: bool) -> bool:
        """Whether a request to `endpoint` (a refresh grant when `refreshing`) fails this way."""
        if self.endpoint == "refresh":
            return endpoint == "token" and refreshing
        return self.endpoint in (endpoint, "any")


class RateLimits(BaseModel):
    """The application's limits (15 minutes, day), as Strava's `X-RateLimit-Limit` headers give them."""

    rate_limit: tuple[int, int] = Field(description="Every request.")
    read_rate_limit: tuple[int, int] = Field(description="The reads (non-upload requests) among them.")


class ReceivedRequest(BaseModel):
    """A request the fake received on one of Strava's URLs, as it arrived."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    fields: dict[str, str] = Field(description="Query and body parameters (form, multipart or JSON).")
    received_at: float


class ActivityPut(BaseModel):
    """An activity added to an athlete's, or the fields of one of theirs that change."""

    athlete_id: int
    payload: dict[str, Any] = Field(description="Strava's field names; absent fields keep their value.")


class HistoryOrder(BaseModel):
    """Years of an athlete's activities, generated by the fake (`strava_history`)."""

    athlete_id: int
    count: int = Field(ge=0, le=HISTORY_BLOCK)
    end: datetime | None = Field(default=None, description="Every activity starts before; None: now.")
    seed: int = 0
    first_id: int | None = None


class GrantView(BaseModel):
    """An athlete's live authorization of the application (no token in it)."""

    athlete_id: int
    scopes: list[str]
    access_expires_at: int


@dataclass
class _Code:
    athlete: StravaAthlete
    scopes: list[str]
    expires_at: float


@dataclass
class _Grant:
    athlete_id: int
    scopes: list[str]
    access_token: str
    access_expires_at: int
    refresh_token: str


@dataclass(eq=False)
class _ArmedFailure:
    failure: Failure
    left: int
    """Requests it still fails whatever the time."""
    until: float | None
    """The end of a failure that lasts a while (`for_seconds`), on the fake's clock."""


@dataclass
class _Window:
    started: int = 0
    count: int = 0

    def add(self, window: int) -> None:
        if window != self.started:
            self.started, self.count = window, 0
        self.count += 1

    def usage(self, window: int) -> int:
        return self.count if window == self.started else 0


class StravaState:
    """One Strava application (`client_id`, `client_secret`) and everything Strava knows about it."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        default_athlete: StravaAthlete | None = None,
        callback_domain: str | None = None,
        rate_limit: tuple[int, int] = (200, 2000),
        read_rate_limit: tuple[int, int] = (100, 1000),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.default_athlete = default_athlete or StravaAthlete()
        self.callback_domain = callback_domain
        self.rate_limit = rate_limit
        self.read_rate_limit = read_rate_limit
        self.reset()

    def reset(self) -> None:
        """Forgets everything that happened; the application's configuration stays."""
        self.clock_offset = 0.0
        self._consents: deque[Consent] = deque()
        self._failures: deque[_ArmedFailure] = deque()
        self._athletes: dict[int, StravaAthlete] = {}
        self._codes: dict[str, _Code] = {}
        self._grants: dict[int, _Grant] = {}
        self._access_tokens: dict[str, tuple[int, int]] = {}  # token -> (athlete id, expires at)
        self._refresh_tokens: dict[str, int] = {}  # token -> athlete id
        self._short_window, self._day = _Window(), _Window()
        self.received: list[ReceivedRequest] = []
        self.activities = ActivityStore()

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> float:
        self.clock_offset += seconds
        return self.now()

    # What tests arrange.

    def queue_consent(self, consent: Consent) -> None:
        self._consents.append(consent)

    def add_failure(self, failure: Failure) -> None:
        until = None if failure.for_seconds is None else self.now() + failure.for_seconds
        self._failures.append(_ArmedFailure(failure, failure.times, until))

    def take_failure(self, endpoint: Endpoint, *, refreshing: bool = False) -> Failure | None:
        """The failure the next request to `endpoint` meets, if any (the earliest added that aims at it);
        `refreshing`: the request is a refresh grant."""
        now = self.now()
        for armed in list(self._failures):
            lasting = armed.until is not None and now < armed.until
            if not lasting and armed.left <= 0:
                self._failures.remove(armed)
                continue
            if not armed.failure.strikes(endpoint, refreshing=refreshing):
                continue
            armed.left -= 1
            if armed.left <= 0 and not lasting:
                self._failures.remove(armed)
            return armed.failure
        return None

    def set_rate_limits(self, limits: RateLimits) -> RateLimits:
        """Changes the application's limits (as Strava does for an application that asks); returns the
        previous ones. The requests counted so far stay counted."""
        previous = self.rate_limits()
        self.rate_limit, self.read_rate_limit = limits.rate_limit, limits.read_rate_limit
        return previous

    def rate_limits(self) -> RateLimits:
        return RateLimits(rate_limit=self.rate_limit, read_rate_limit=self.read_rate_limit)

    def reset_usage(self) -> None:
        """Forgets the requests counted so far: the usage starts again from 0 in both windows."""
        self._short_window, self._day = _Window(), _Window()

    def record(self, request: ReceivedRequest) -> None:
        self.received.append(request)

    def grants(self) -> list[GrantView]:
        return [
            GrantView(athlete_id=g.athlete_id, scopes=g.scopes, access_expires_at=g.access_expires_at)
            for g in self._grants.values()
        ]

    # The application's rate limits: every request counts, including refused ones.

    def count_request(self) -> None:
        now = int(self.now())
        self._short_window.add(now // SHORT_WINDOW_SECONDS)
        self._day.add(now // DAY_SECONDS)

    def usage(self) -> tuple[int, int]:
        now = int(self.now())
        return self._short_window.usage(now // SHORT_WINDOW_SECONDS), self._day.usage(now // DAY_SECONDS)

    def over_limit(self) -> bool:
        short, day = self.usage()
        return any(short > limit[0] or day > limit[1] for limit in (self.rate_limit, self.read_rate_limit))

    def rate_limit_headers(self) -> dict[str, str]:
        # Every endpoint the fake serves is a "non-upload" one: it counts against both limits.
        usage = "{},{}".format(*self.usage())
        return {
            "X-RateLimit-Limit": "{},{}".format(*self.rate_limit),
            "X-RateLimit-Usage": usage,
            "X-ReadRateLimit-Limit": "{},{}".format(*self.read_rate_limit),
            "X-ReadRateLimit-Usage": usage,
        }

    # OAuth.

    def authorize(self, params: dict[str, str]) -> str:
        """Where the athlete's browser is sent back to once they have answered the consent page."""
        if params.get("client_id", "") != self.client_id:
            raise bad_request("Application", "client_id")
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_allowed(redirect_uri):
            raise bad_request("Application", "redirect_uri")
        if params.get("response_type") != "code":
            raise bad_request("Application", "response_type")
        requested = [s for s in params.get("scope", "read").replace(" ", "").split(",") if s]
        if not requested or any(scope not in SCOPES for scope in requested):
            raise bad_request("Authorize", "scope")
        consent = self._consents.popleft() if self._consents else Consent()
        answer = {"state": params.get("state", "")}
        if consent.deny:
            answer["error"] = "access_denied"
            return _with_query(redirect_uri, answer)
        athlete = consent.athlete or self.default_athlete
        kept = requested if consent.scopes is None else [s for s in requested if s in consent.scopes]
        code = _new_token()
        self._codes[code] = _Code(athlete=athlete, scopes=kept, expires_at=self.now() + CODE_SECONDS)
        answer["code"] = code
        answer["scope"] = ",".join(kept)
        return _with_query(redirect_uri, answer)

    def exchange(self, fields: dict[str, str]) -> dict[str, Any]:
        """`POST /oauth/token`: an authorization code or a refresh token for tokens."""
        self._check_client(fields)
        grant_type = fields.get("grant_type", "")
        if grant_type == "authorization_code":
            code = self._codes.pop(fields.get("code", ""), None)
            if code is None or code.expires_at <= self.now():
                raise bad_request("AuthorizationCode", "code")
            return self._grant(code.athlete, code.scopes)
        if grant_type == "refresh_token":
            return self._refresh(fields.get("refresh_token", ""))
        raise bad_request("Application", "grant_type")

    def issue_grant(
        self, athlete: StravaAthlete | None = None, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        """Tokens for an athlete as if they had just authorized the application (tests' shortcut)."""
        return self._grant(athlete or self.default_athlete, scopes or ["read", "activity:read_all"])

    def deauthorize(self, access_token: str) -> dict[str, Any]:
        self.revoke_grant(self._athlete_id_of(access_token))
        return {"access_token": access_token}

    def revoke_grant(self, athlete_id: int) -> bool:
        """The athlete's authorization of the application ends (the application deauthorized it, or the
        athlete removed it in their Strava settings): their access tokens answer 401 from now on and their
        refresh token is refused. Returns whether they had authorized it."""
        grant = self._grants.pop(athlete_id, None)
        self._access_tokens = {t: v for t, v in self._access_tokens.items() if v[0] != athlete_id}
        if grant is not None:
            self._refresh_tokens.pop(grant.refresh_token, None)
        return grant is not None

    def athlete_of(self, access_token: str) -> StravaAthlete:
        return self._athletes[self._athlete_id_of(access_token)]

    # Activities: what tests arrange, and the data API.

    def add_history(self, order: HistoryOrder) -> list[int]:
        """Generates and stores the athlete's activities; returns their ids, oldest first."""
        end = order.end or datetime.fromtimestamp(self.now(), UTC)
        history = strava_history(
            order.athlete_id, order.count, end=end, seed=order.seed, first_id=order.first_id
        )
        self.activities.put_many(order.athlete_id, history)
        return [activity["id"] for activity in history]

    def athlete_activities(self, access_token: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """`GET /api/v3/athlete/activities`: the token's athlete's SummaryActivities that started strictly
        between `after` and `before` (epoch seconds), oldest first when `after` is given and newest first
        otherwise, `per_page` (30 by default, at most 200) on page `page` (from 1)."""
        athlete_id, read_all = self._activity_reader(access_token)
        return self.activities.page(
            athlete_id,
            before=_int_param(params, "before"),
            after=_int_param(params, "after"),
            page=max(1, _int_param(params, "page") or 1),
            per_page=min(PER_PAGE_MAX, _int_param(params, "per_page") or PER_PAGE_DEFAULT),
            include_private=read_all,
        )

    def activity(self, access_token: str, activity_id: str) -> dict[str, Any]:
        """`GET /api/v3/activities/{id}`: the DetailedActivity, unless it is unknown or private to
        another athlete (or private and the token lacks `activity:read_all`): Record Not Found."""
        athlete_id, read_all = self._activity_reader(access_token)
        stored = self.activities.get(int(activity_id)) if activity_id.isdigit() else None
        if stored is None or (stored.private and (stored.athlete_id != athlete_id or not read_all)):
            raise record_not_found()
        return stored.detail

    def _activity_reader(self, access_token: str) -> tuple[int, bool]:
        """The token's athlete, and whether they let the application read their private activities."""
        athlete_id = self._athlete_id_of(access_token)
        scopes = self._grants[athlete_id].scopes
        if "activity:read" not in scopes and "activity:read_all" not in scopes:
            raise StravaError(
                401, "Authorization Error", "AccessToken", "activity:read_permission", "missing"
            )
        return athlete_id, "activity:read_all" in scopes

    def _check_client(self, fields: dict[str, str]) -> None:
        if fields.get("client_id", "") != self.client_id:
            raise bad_request("Application", "client_id")
        if not secrets.compare_digest(fields.get("client_secret", "").encode(), self.client_secret.encode()):
            raise authorization_error("Application", "client_secret")

    def _redirect_allowed(self, redirect_uri: str) -> bool:
        # Web pages and mobile deep links (`myapp://myapp.example/...`) alike: the host must be the
        # application's callback domain (or loopback).
        parts = urlsplit(redirect_uri)
        if not parts.scheme or not parts.hostname:
            return False
        if self.callback_domain is None or parts.hostname in LOOPBACK_HOSTS:
            return True
        domain = self.callback_domain.lower()
        return parts.hostname == domain or parts.hostname.endswith(f".{domain}")

    def _grant(self, athlete: StravaAthlete, scopes: list[str]) -> dict[str, Any]:
        # A new authorization replaces the athlete's previous one: its refresh token stops working.
        previous = self._grants.get(athlete.id)
        if previous is not None:
            self._refresh_tokens.pop(previous.refresh_token, None)
        self._athletes[athlete.id] = athlete
        grant = _Grant(athlete.id, scopes, "", 0, _new_token())
        self._issue_access_token(grant)
        self._grants[athlete.id] = grant
        self._refresh_tokens[grant.refresh_token] = athlete.id
        return {**self._token_answer(grant), "athlete": athlete.summary()}

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        athlete_id = self._refresh_tokens.pop(refresh_token, None)
        if athlete_id is None:
            raise bad_request("RefreshToken", "refresh_token")
        grant = self._grants[athlete_id]
        if grant.access_expires_at - self.now() <= ACCESS_TOKEN_REISSUED_WITHIN_SECONDS:
            self._issue_access_token(grant)
        grant.refresh_token = _new_token()  # the old one no longer works
        self._refresh_tokens[grant.refresh_token] = athlete_id
        answer = self._token_answer(grant)
        return {
            "token_type": answer["token_type"],
            "access_token": answer["access_token"],
            "expires_at": answer["expires_at"],
            "expires_in": answer["expires_in"],
            "refresh_token": answer["refresh_token"],
        }

    def _issue_access_token(self, grant: _Grant) -> None:
        grant.access_token = _new_token()
        grant.access_expires_at = int(self.now()) + ACCESS_TOKEN_SECONDS
        self._access_tokens[grant.access_token] = (grant.athlete_id, grant.access_expires_at)

    def _token_answer(self, grant: _Grant) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "expires_at": grant.access_expires_at,
            "expires_in": max(0, grant.access_expires_at - int(self.now())),
            "refresh_token": grant.refresh_token,
            "access_token": grant.access_token,
        }

    def _athlete_id_of(self, access_token: str) -> int:
        athlete_id, expires_at = self._access_tokens.get(access_token, (0, 0))
        if not athlete_id or expires_at <= self.now():
            raise authorization_error("Athlete", "access_token")
        return athlete_id


def _int_param(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request("Activity", name) from None


def _with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query; commas and colons stay as Strava writes them."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query, safe=",:")))
