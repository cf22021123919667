"""How tests drive the fake providers: `FakeProviders` in the test's own process (served on a free port of
127.0.0.1 by `serve_fake_providers`), or `FakeProvidersClient` for one running as a separate process
(`python -m relay_testing.fakes.providers`). Both offer the same awaitable controls, `ProvidersControl`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter

from relay_testing.fakes.providers.app import create_app
from relay_testing.fakes.providers.control_routes import CONTROL_PREFIX, NewCorosAccount
from relay_testing.fakes.providers.coros_hub import CorosAccount
from relay_testing.fakes.providers.dialects import DIALECTS, Provider, Target, provider_urls, settings_env
from relay_testing.fakes.providers.state import (
    Failure,
    FailureMode,
    NewOuraSubscription,
    OuraSubscription,
    ProvidersState,
    ReceivedRequest,
)
from relay_testing.fakes.providers.users import ProviderUser
from relay_testing.fakes.providers.workouts import (
    COROS_MAX_IMPORT_BYTES,
    CorosImport,
    GarminStoredWorkout,
    UploadTarget,
)
from relay_testing.fakes.strava.app import QuietDroppedConnections
from relay_testing.serving import serve_asgi

FAKE_CLIENT_ID = "relay-test-client"
FAKE_CLIENT_SECRET = "relay-test-secret"

_COROS_IMPORTS = TypeAdapter(list[CorosImport])


def _failure(target: Target, mode: FailureMode, path: str | None, times: int, seconds: float) -> Failure:
    return Failure(target=target, mode=mode, path=_under_prefix(target, path), times=times, seconds=seconds)


def _under_prefix(target: Target, path: str | None) -> str | None:
    """A path relative to the provider's prefix, whether or not it was given with it."""
    if path is None:
        return None
    prefix = f"/{target}/"
    return f"/{path.removeprefix(prefix)}" if path.startswith(prefix) else path


def _matching(requests: list[ReceivedRequest], target: Target, path: str | None) -> list[ReceivedRequest]:
    wanted = None if path is None else f"/{target}{_under_prefix(target, path)}"
    return [r for r in requests if r.provider == target and (wanted is None or r.path == wanted)]


async def _play_authorization(client: httpx.AsyncClient, provider: Provider, url: str) -> httpx.URL:
    """The athlete's browser on the consent page: where the provider sends it back."""
    expected = f"/{provider}{DIALECTS[provider].authorize_path}"
    if httpx.URL(url).path != expected:
        raise ValueError(f"{url} is not {provider}'s authorization page ({expected})")
    response = await client.get(url, follow_redirects=False)
    if response.is_redirect:
        return httpx.URL(response.headers["location"])
    response.raise_for_status()
    raise RuntimeError(f"{provider}'s authorization page answered {response.status_code} without redirecting")


class _Addresses:
    """The URLs and credentials a served fake is known by."""

    client_id: str
    client_secret: str

    @property
    def url(self) -> str:
        raise NotImplementedError

    def urls(self, provider: Provider) -> dict[str, str]:
        """The provider's `authorize_url`, `token_url`, `api_url`, `revoke_url` and `refresh_url` on the
        fake ("" where the real provider has no such URL)."""
        return provider_urls(self.url, provider)

    def settings_env(
        self, prefix: str = "CONNECTIONS_", *, client_id: str | None = None, client_secret: str | None = None
    ) -> dict[str, str]:
        """Environment variables pointing the connections service at the fake: `<prefix><PROVIDER>__<URL>`,
        `__CLIENT_ID` and `__CLIENT_SECRET` for every provider, and `<prefix>COROS_TRAINING_HUB_URL`."""
        return settings_env(
            self.url,
            prefix=prefix,
            client_id=client_id or self.client_id,
            client_secret=client_secret or self.client_secret,
        )


class FakeProviders(_Addresses):
    """Garmin, COROS (and its Training Hub), Polar, Oura, WHOOP, Fitbit and Wahoo, with one application
    (`client_id`, `client_secret`) registered at each. Consent pages approve at once, as a new user of
    the provider unless a test queued one. COROS Training Hub refuses imports larger than
    `coros_max_import_bytes` (1 MiB unless told)."""

    def __init__(
        self,
        *,
        client_id: str = FAKE_CLIENT_ID,
        client_secret: str = FAKE_CLIENT_SECRET,
        coros_max_import_bytes: int = COROS_MAX_IMPORT_BYTES,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.state = ProvidersState(
            client_id=client_id, client_secret=client_secret, coros_max_import_bytes=coros_max_import_bytes
        )
        self.app = create_app(self.state)
        self._url: str | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`: each provider lives under `/<provider>`, COROS Training Hub under
        `/coros-hub`."""
        if self._url is None:
            raise RuntimeError("the fake providers are not served: use `serve_fake_providers`")
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        self._url = value

    async def queue_user(self, provider: Provider, **fields: Any) -> ProviderUser:
        """The next authorization at `provider` approves as this user (see `ProviderUser`; missing
        fields are generated). Naming the `user_id` of an earlier user links that same account again."""
        return self.state.queue_user(provider, fields)

    async def deny_next(self, provider: Provider) -> None:
        """The next authorization at `provider` is refused: `error=access_denied` on the redirect."""
        self.state.deny_next(provider)

    async def fail_next(
        self,
        provider: Target,
        mode: FailureMode,
        path: str | None = None,
        *,
        times: int = 1,
        seconds: float = 5.0,
    ) -> None:
        """The next `times` calls to `path` (any of the provider's endpoints but its consent page when
        None) fail: `server_error` (500 in the provider's shape; COROS Training Hub: HTTP 200 with
        result 5000), `down` (plain 503), `rate_limited` (429 with Retry-After), `slow` (answers after
        `seconds`) or `disconnect` (the connection drops mid-response)."""
        self.state.add_failure(_failure(provider, mode, path, times, seconds))

    async def revoke_grants(self, provider: Provider, provider_user_id: str | int) -> None:
        """As when the athlete removes the application at the provider: their tokens stop working."""
        self.state.revoke_grants(provider, str(provider_user_id))

    async def expire_refresh_tokens(self, provider: Provider) -> None:
        """Every refresh token of the provider is refused from now on (access tokens live on)."""
        self.state.expire_refresh_tokens(provider)

    async def advance_clock(self, seconds: float) -> float:
        """Moves the providers' clock (codes, access and refresh tokens expire); returns its epoch time."""
        return self.state.advance_clock(seconds)

    async def add_coros_account(self, email: str, password: str, **profile: Any) -> CorosAccount:
        """A COROS Training Hub account (`user_id`, `nickname`, `avatar`, `country` may be given)."""
        return self.state.add_coros_account(CorosAccount(email=email, **profile), password)

    async def expire_coros_tokens(self) -> None:
        """Every COROS Training Hub token answers "Token expired" (result 1002) from now on."""
        self.state.coros_hub.expire_tokens()

    async def add_oura_subscription(
        self, *, callback_url: str, event_type: str, data_type: str, expiration_time: datetime | None = None
    ) -> OuraSubscription:
        """A webhook subscription of the application at Oura (expiring in 90 days unless told)."""
        request = NewOuraSubscription(
            callback_url=callback_url,
            event_type=event_type,
            data_type=data_type,
            expiration_time=expiration_time,
        )
        return self.state.add_oura_subscription(request)

    async def oura_subscriptions(self) -> list[OuraSubscription]:
        return self.state.oura_subscriptions()

    async def coros_imports(self, email: str) -> list[CorosImport]:
        """The FIT files imported into the Training Hub account, oldest first, bytes as received."""
        return self.state.coros_imports_of(email)

    async def garmin_workouts(self, provider_user_id: str) -> list[GarminStoredWorkout]:
        """The Garmin Connect workouts of the athlete, oldest first, with the dates they are scheduled on."""
        return self.state.garmin_workouts.of(provider_user_id)

    async def pretend_next_upload(self, target: UploadTarget, times: int = 1) -> None:
        """The next `times` COROS imports or Garmin workout creations that would succeed answer success,
        with an id, but nothing is kept: a provider that says "success" without creating anything."""
        self.state.pretend_next_upload(target, times)

    async def put_activity(
        self, provider: Provider, provider_user_id: str | int, external_id: str | int, payload: dict[str, Any]
    ) -> None:
        """An activity of the user at `provider`, in the provider's own shape (replaces the one with the
        same id: an edit at the provider). The provider's data API serves it from then on."""
        self.state.put_activity(provider, str(provider_user_id), str(external_id), payload)

    async def remove_activity(
        self, provider: Provider, provider_user_id: str | int, external_id: str | int
    ) -> bool:
        """As when the athlete deletes the activity at the provider; returns whether it existed."""
        return self.state.remove_activity(provider, str(provider_user_id), str(external_id))

    async def issued_tokens(self) -> list[str]:
        """Every access, refresh and COROS Training Hub token ever issued, oldest first."""
        return self.state.issued_tokens()

    async def received(self, provider: Target, path: str | None = None) -> list[ReceivedRequest]:
        """The requests received by `provider`, oldest first (only those to `path` when given, with or
        without the provider's prefix)."""
        return _matching(self.state.received, provider, path)

    async def reset(self) -> None:
        self.state.reset()

    async def authorize(self, provider: Provider, authorization_url: str) -> httpx.URL:
        """Plays the athlete's browser: opens the authorization URL and returns where the provider
        redirects (read `code` and `state`, or `error`, from its query)."""
        transport = httpx.ASGITransport(app=self.app) if self._url is None else None
        async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
            return await _play_authorization(client, provider, authorization_url)


class FakeProvidersClient(_Addresses):
    """The same controls, over HTTP, for fake providers running as their own process."""

    def __init__(self, url: str, *, client_id: str, client_secret: str) -> None:
        self._url = url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret

    @property
    def url(self) -> str:
        return self._url

    async def _request(
        self, method: str, path: str, json: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"{self.url}{CONTROL_PREFIX}", timeout=5.0) as client:
            response = await client.request(method, path, json=json, params=params)
        return response.raise_for_status()

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = await self._request(method, path, json)
        return response.json() if response.content else None

    async def queue_user(self, provider: Provider, **fields: Any) -> ProviderUser:
        body = {"provider": provider, "fields": jsonable_encoder(fields)}
        return ProviderUser.model_validate(await self._call("POST", "/users", body))

    async def deny_next(self, provider: Provider) -> None:
        await self._call("POST", "/denials", {"provider": provider})

    async def fail_next(
        self,
        provider: Target,
        mode: FailureMode,
        path: str | None = None,
        *,
        times: int = 1,
        seconds: float = 5.0,
    ) -> None:
        await self._call(
            "POST", "/failures", _failure(provider, mode, path, times, seconds).model_dump(mode="json")
        )

    async def revoke_grants(self, provider: Provider, provider_user_id: str | int) -> None:
        await self._call(
            "POST", "/revocations", {"provider": provider, "provider_user_id": str(provider_user_id)}
        )

    async def expire_refresh_tokens(self, provider: Provider) -> None:
        await self._call("POST", "/refresh-token-expiries", {"provider": provider})

    async def advance_clock(self, seconds: float) -> float:
        answer = await self._call("POST", "/clock", {"advance_seconds": seconds})
        return float(answer["now"])

    async def add_coros_account(self, email: str, password: str, **profile: Any) -> CorosAccount:
        body = NewCorosAccount(email=email, password=password, **profile)
        return CorosAccount.model_validate(await self._call("POST", "/coros-hub/accounts", body.model_dump()))

    async def expire_coros_tokens(self) -> None:
        await self._call("POST", "/coros-hub/token-expiries")

    async def add_oura_subscription(
        self, *, callback_url: str, event_type: str, data_type: str, expiration_time: datetime | None = None
    ) -> OuraSubscription:
        request = NewOuraSubscription(
            callback_url=callback_url,
            event_type=event_type,
            data_type=data_type,
            expiration_time=expiration_time,
        )
        answer = await self._call("POST", "/oura/subscriptions", request.model_dump(mode="json"))
        return OuraSubscription.model_validate(answer)

    async def oura_subscriptions(self) -> list[OuraSubscription]:
        return [OuraSubscription.model_validate(s) for s in await self._call("GET", "/oura/subscriptions")]

    async def coros_imports(self, email: str) -> list[CorosImport]:
        response = await self._request("GET", "/coros-hub/imports", params={"email": email})
        return _COROS_IMPORTS.validate_json(response.content)

    async def garmin_workouts(self, provider_user_id: str) -> list[GarminStoredWorkout]:
        answer = await self._call("GET", f"/garmin/workouts/{provider_user_id}")
        return [GarminStoredWorkout.model_validate(w) for w in answer]

    async def pretend_next_upload(self, target: UploadTarget, times: int = 1) -> None:
        await self._call("POST", "/pretended-uploads", {"target": target, "times": times})

    async def put_activity(
        self, provider: Provider, provider_user_id: str | int, external_id: str | int, payload: dict[str, Any]
    ) -> None:
        body = {
            "provider": provider,
            "provider_user_id": str(provider_user_id),
            "external_id": str(external_id),
            "payload": payload,
        }
        await self._call("PUT", "/activities", body)

    async def remove_activity(
        self, provider: Provider, provider_user_id: str | int, external_id: str | int
    ) -> bool:
        answer = await self._call("DELETE", f"/activities/{provider}/{provider_user_id}/{external_id}")
        return bool(answer["removed"])

    async def issued_tokens(self) -> list[str]:
        return [str(token) for token in await self._call("GET", "/tokens")]

    async def received(self, provider: Target, path: str | None = None) -> list[ReceivedRequest]:
        requests = [ReceivedRequest.model_validate(r) for r in await self._call("GET", "/requests")]
        return _matching(requests, provider, path)

    async def reset(self) -> None:
        await self._call("POST", "/reset")

    async def authorize(self, provider: Provider, authorization_url: str) -> httpx.URL:
        async with httpx.AsyncClient(timeout=5.0) as client:
            return await _play_authorization(client, provider, authorization_url)


@contextlib.asynccontextmanager
async def serve_fake_providers(
    fake: FakeProviders | None = None,
    *,
    client_id: str = FAKE_CLIENT_ID,
    client_secret: str = FAKE_CLIENT_SECRET,
) -> AsyncIterator[FakeProviders]:
    """Serves `fake` (or new `FakeProviders` with these credentials) on a free port of 127.0.0.1 in the
    running event loop for as long as the block lasts: `async with serve_fake_providers() as fake:`."""
    fake = fake or FakeProviders(client_id=client_id, client_secret=client_secret)
    async with serve_asgi(fake.app, name="fake-providers", log_filter=QuietDroppedConnections()) as url:
        fake.url = url
        yield fake
