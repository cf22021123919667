"""What the fake providers remember: the athletes and the consents tests queue, authorization codes, grants
and their tokens, Polar registrations, Oura's webhook subscriptions, COROS Training Hub accounts and their
FIT imports, Garmin Connect workouts, injected failures, the requests received, and a clock tests can
move. Nothing here knows about HTTP."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from relay_testing.fakes.providers.coros_hub import CorosAccount, CorosHub
from relay_testing.fakes.providers.dialects import PROVIDERS, Provider, Target
from relay_testing.fakes.providers.users import ProviderUser
from relay_testing.fakes.providers.workouts import (
    COROS_MAX_IMPORT_BYTES,
    CorosImport,
    CorosImports,
    GarminWorkouts,
    UploadTarget,
)

CODE_SECONDS = 10 * 60
OURA_SUBSCRIPTION_DAYS = 90

FailureMode = Literal["server_error", "rate_limited", "slow", "disconnect", "down"]


class Failure(BaseModel):
    """The next `times` requests to `target` (to `path` under it, or to any of its endpoints but the
    authorization page when None) fail this way instead of being answered."""

    target: Target
    mode: FailureMode
    path: str | None = Field(default=None, description="Relative to the provider's prefix.")
    times: int = Field(default=1, ge=1)
    seconds: float = Field(default=5.0, ge=0, description="How long `slow` waits before answering.")


class ReceivedRequest(BaseModel):
    """A request the fake received on one of the providers' URLs, as it arrived (no Authorization)."""

    provider: Target
    method: str
    path: str = Field(description="The full path, the provider's prefix included.")
    query: dict[str, str]
    headers: dict[str, str]
    fields: dict[str, str] = Field(description="Query and body parameters (form or JSON).")
    auth_scheme: str | None = Field(default=None, description="`Basic`, `Bearer` or None.")
    basic_client_id: str | None = Field(default=None, description="The user part of a Basic header.")
    received_at: float


class OuraSubscription(BaseModel):
    """One of the application's webhook subscriptions at Oura."""

    model_config = ConfigDict(extra="forbid")

    id: str
    callback_url: str
    event_type: str
    data_type: str
    expiration_time: datetime


class NewOuraSubscription(BaseModel):
    """A subscription a test puts in place: `id` generated and `expiration_time` 90 days ahead when None."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str
    event_type: str
    data_type: str
    expiration_time: datetime | None = None
    id: str | None = None


@dataclass
class Consent:
    """What the athlete does on the provider's consent page: approve as `user`, or refuse."""

    user: ProviderUser | None = None
    deny: bool = False


@dataclass
class Code:
    provider: Provider
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: list[str]
    code_challenge: str | None
    expires_at: float


@dataclass
class Grant:
    """A user's live authorization of the application at a provider, with its current tokens."""

    provider: Provider
    user_id: str
    scopes: list[str]
    access_token: str
    access_expires_at: float
    refresh_token: str | None = None
    refresh_expires_at: float | None = None
    refresh_refused: bool = False


@dataclass
class PolarRegistration:
    member_id: str
    registered_at: datetime


class ProvidersState:
    """The providers' side of Relay's applications, which share one `client_id` and `client_secret`."""

    def __init__(
        self, *, client_id: str, client_secret: str, coros_max_import_bytes: int = COROS_MAX_IMPORT_BYTES
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.coros_hub = CorosHub()
        self.coros_imports = CorosImports(max_file_bytes=coros_max_import_bytes)
        self.garmin_workouts = GarminWorkouts()
        self.reset()

    def reset(self) -> None:
        """Forgets everything that happened; the applications' credentials and the hub's file size limit
        stay."""
        self.clock_offset = 0.0
        self._consents: dict[Provider, deque[Consent]] = {p: deque() for p in PROVIDERS}
        self._failures: list[Failure] = []
        self._users: dict[tuple[Provider, str], ProviderUser] = {}
        self.codes: dict[str, Code] = {}
        self._grants: dict[tuple[Provider, str], Grant] = {}
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        self._issued: list[str] = []
        self.polar_registrations: dict[str, PolarRegistration] = {}
        self._oura_subscriptions: dict[str, OuraSubscription] = {}
        self._activities: dict[tuple[Provider, str], dict[str, dict[str, Any]]] = {}
        self.coros_hub.reset()
        self.coros_imports.reset()
        self.garmin_workouts.reset()
        self.received: list[ReceivedRequest] = []

    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance_clock(self, seconds: float) -> float:
        self.clock_offset += seconds
        return self.now()

    def client_matches(self, client_id: str | None, client_secret: str | None) -> bool:
        return client_id == self.client_id and secrets.compare_digest(
            (client_secret or "").encode(), self.client_secret.encode()
        )

    # What tests arrange and inspect.

    def queue_user(self, provider: Provider, fields: dict[str, Any]) -> ProviderUser:
        """The next consent at `provider` is this user's. Naming a known `user_id` links that same
        account again, with its other fields kept unless given; a missing id makes a new user."""
        user_id = fields.get("user_id")
        known = self._users.get((provider, str(user_id))) if user_id is not None else None
        base = known.model_dump(exclude={"scopes"}) if known is not None else {}
        user = ProviderUser.model_validate({**base, **fields, "provider": provider})
        self._consents[provider].append(Consent(user=user))
        return user

    def deny_next(self, provider: Provider) -> None:
        self._consents[provider].append(Consent(deny=True))

    def next_consent(self, provider: Provider) -> Consent:
        queue = self._consents[provider]
        return queue.popleft() if queue else Consent()

    def add_failure(self, failure: Failure) -> None:
        self._failures.append(failure)

    def take_failure(self, target: Target, path: str, *, authorization_page: bool) -> Failure | None:
        for failure in self._failures:
            named = failure.path == path
            if failure.target == target and (named or (failure.path is None and not authorization_page)):
                failure.times -= 1
                if failure.times == 0:
                    self._failures.remove(failure)
                return failure
        return None

    def record(self, request: ReceivedRequest) -> None:
        self.received.append(request)

    def issued_tokens(self) -> list[str]:
        return list(self._issued)

    def new_token(self, nbytes: int = 32) -> str:
        token = secrets.token_urlsafe(nbytes)
        self._issued.append(token)
        return token

    def remember_token(self, token: str) -> None:
        self._issued.append(token)

    # Users.

    def consenting_user(self, consent: Consent, provider: Provider) -> ProviderUser:
        """The queued user (replacing what was known of the same account), else a new one."""
        user = consent.user or ProviderUser(provider=provider)
        self._users[(provider, user.user_id)] = user
        return user

    def user(self, provider: Provider, user_id: str) -> ProviderUser:
        return self._users[(provider, user_id)]

    # Grants and tokens.

    def store_grant(self, grant: Grant) -> Grant:
        """Indexes a new grant; it replaces the user's previous one, whose tokens stop working."""
        previous = self._grants.get((grant.provider, grant.user_id))
        if previous is not None:
            self.drop_grant(previous)
        self._grants[(grant.provider, grant.user_id)] = grant
        self._by_access[grant.access_token] = grant
        if grant.refresh_token:
            self._by_refresh[grant.refresh_token] = grant
        return grant

    def drop_grant(self, grant: Grant) -> None:
        self._grants.pop((grant.provider, grant.user_id), None)
        self._by_access.pop(grant.access_token, None)
        if grant.refresh_token:
            self._by_refresh.pop(grant.refresh_token, None)

    def rotate(self, grant: Grant, *, access_seconds: int, refresh_seconds: int | None) -> None:
        """New access and refresh tokens for the grant; the previous ones stop working."""
        self._by_access.pop(grant.access_token, None)
        if grant.refresh_token:
            self._by_refresh.pop(grant.refresh_token, None)
        grant.access_token = self.new_token()
        grant.access_expires_at = self.now() + access_seconds
        grant.refresh_token = self.new_token()
        grant.refresh_expires_at = self.now() + refresh_seconds if refresh_seconds else None
        self._by_access[grant.access_token] = grant
        self._by_refresh[grant.refresh_token] = grant

    def grant_by_access(self, provider: Provider, token: str) -> Grant | None:
        grant = self._by_access.get(token)
        return grant if grant is not None and grant.provider == provider else None

    def grant_by_refresh(self, provider: Provider, token: str) -> Grant | None:
        """The grant a refresh token still refreshes (None when unknown, used, revoked or expired)."""
        grant = self._by_refresh.get(token)
        if grant is None or grant.provider != provider or grant.refresh_refused:
            return None
        if grant.refresh_expires_at is not None and grant.refresh_expires_at <= self.now():
            return None
        return grant

    def grant_of(self, provider: Provider, user_id: str) -> Grant | None:
        return self._grants.get((provider, user_id))

    def revoke_grants(self, provider: Provider, user_id: str) -> None:
        """As when the athlete removes the application at the provider: every token stops working."""
        grant = self._grants.get((provider, user_id))
        if grant is not None:
            self.drop_grant(grant)
        if provider == "polar":
            self.polar_registrations.pop(user_id, None)

    def expire_refresh_tokens(self, provider: Provider) -> None:
        for grant in self._grants.values():
            if grant.provider == provider:
                grant.refresh_refused = True

    # Oura's webhook subscriptions.

    def add_oura_subscription(self, request: NewOuraSubscription) -> OuraSubscription:
        """A subscription as if created (and verified) earlier; it expires in 90 days unless told."""
        expiration = request.expiration_time or self.now_datetime() + timedelta(days=OURA_SUBSCRIPTION_DAYS)
        subscription = OuraSubscription(
            **request.model_dump(exclude={"id", "expiration_time"}),
            id=request.id or str(uuid.uuid4()),
            expiration_time=expiration,
        )
        self._oura_subscriptions[subscription.id] = subscription
        return subscription

    def oura_subscriptions(self) -> list[OuraSubscription]:
        return list(self._oura_subscriptions.values())

    def renew_oura_subscription(self, subscription_id: str) -> OuraSubscription | None:
        subscription = self._oura_subscriptions.get(subscription_id)
        if subscription is not None:
            expiration = self.now_datetime() + timedelta(days=OURA_SUBSCRIPTION_DAYS)
            subscription.expiration_time = expiration
        return subscription

    # Activities, each in its provider's own shape, served by the providers' data APIs (`api/`).

    def put_activity(
        self, provider: Provider, user_id: str, external_id: str, payload: dict[str, Any]
    ) -> None:
        """Adds the activity, or replaces the one with the same id (an edit at the provider)."""
        self._activities.setdefault((provider, user_id), {})[external_id] = payload

    def remove_activity(self, provider: Provider, user_id: str, external_id: str) -> bool:
        return self._activities.get((provider, user_id), {}).pop(external_id, None) is not None

    def activities(self, provider: Provider, user_id: str) -> dict[str, dict[str, Any]]:
        """The user's activities at `provider` by their id, in the order they were added."""
        return self._activities.get((provider, user_id), {})

    # COROS Training Hub.

    def add_coros_account(self, account: CorosAccount, password: str) -> CorosAccount:
        return self.coros_hub.add_account(account, password)

    def coros_hub_login(self, body: dict[str, Any]) -> dict[str, Any]:
        answer, token = self.coros_hub.login(body)
        if token is not None:
            self.remember_token(token)
        return answer

    def coros_imports_of(self, email: str) -> list[CorosImport]:
        """The FIT files imported into the account, oldest first (none for an account the hub lacks)."""
        account = self.coros_hub.account_by_email(email)
        return [] if account is None else self.coros_imports.of(account.user_id)

    # Workout uploads.

    def pretend_next_upload(self, target: UploadTarget, times: int = 1) -> None:
        """The next `times` uploads to `target` that would succeed are acknowledged as usual, with an id,
        but nothing is kept: a provider that says "success" without creating anything."""
        if times < 1:
            raise ValueError("times must be at least 1")
        store = self.coros_imports if target == "coros-hub" else self.garmin_workouts
        store.pretend_next(times)
