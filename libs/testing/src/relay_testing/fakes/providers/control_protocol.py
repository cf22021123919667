"""What a test can do with the fake providers, wherever they run: `FakeProviders` in the test's own
process and `FakeProvidersClient` over HTTP both offer these controls."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import httpx

from relay_testing.fakes.providers.coros_hub import CorosAccount
from relay_testing.fakes.providers.dialects import Provider, Target
from relay_testing.fakes.providers.state import FailureMode, OuraSubscription, ReceivedRequest
from relay_testing.fakes.providers.users import ProviderUser
from relay_testing.fakes.providers.workouts import CorosImport, GarminStoredWorkout, UploadTarget


class ProvidersControl(Protocol):
    """The controls a test has over the fake providers, wherever they run."""

    client_id: str
    client_secret: str

    @property
    def url(self) -> str: ...

    def urls(self, provider: Provider) -> dict[str, str]: ...

    def settings_env(
        self, prefix: str = "CONNECTIONS_", *, client_id: str | None = None, client_secret: str | None = None
    ) -> dict[str, str]: ...

    async def queue_user(self, provider: Provider, **fields: Any) -> ProviderUser: ...

    async def deny_next(self, provider: Provider) -> None: ...

    async def fail_next(
        self,
        provider: Target,
        mode: FailureMode,
        path: str | None = None,
        *,
        times: int = 1,
        seconds: float = 5.0,
    ) -> None: ...

    async def revoke_grants(self, provider: Provider, provider_user_id: str | int) -> None: ...

    async def expire_refresh_tokens(self, provider: Provider) -> None: ...

    async def advance_clock(self, seconds: float) -> float: ...

    async def add_coros_account(self, email: str, password: str, **profile: Any) -> CorosAccount: ...

    async def expire_coros_tokens(self) -> None: ...

    async def add_oura_subscription(
        self, *, callback_url: str, event_type: str, data_type: str, expiration_time: datetime | None = None
    ) -> OuraSubscription: ...

    async def oura_subscriptions(self) -> list[OuraSubscription]: ...

    async def coros_imports(self, email: str) -> list[CorosImport]: ...

    async def garmin_workouts(self, provider_user_id: str) -> list[GarminStoredWorkout]: ...

    async def pretend_next_upload(self, target: UploadTarget, times: int = 1) -> None: ...

    async def put_activity(
        self, provider: Provider, provider_user_id: str | int, external_id: str | int, payload: dict[str, Any]
    ) -> None: ...

    async def remove_activity(
        self, provider: Provider, provider_user_id: str | int, external_id: str | int
    ) -> bool: ...

    async def issued_tokens(self) -> list[str]: ...

    async def received(self, provider: Target, path: str | None = None) -> list[ReceivedRequest]: ...

    async def reset(self) -> None: ...

    async def authorize(self, provider: Provider, authorization_url: str) -> httpx.URL: ...
