"""The test-control API under `/_fake/`, behind `FakeProvidersClient`: what a test arranges (users,
refusals, failures, revocations, clock, COROS accounts, Oura subscriptions, uploads acknowledged but not
kept) and what it inspects (tokens issued, requests received, COROS imports, Garmin workouts)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field, ValidationError

from relay_testing.fakes.providers.coros_hub import CorosAccount
from relay_testing.fakes.providers.dialects import Provider
from relay_testing.fakes.providers.state import (
    Failure,
    NewOuraSubscription,
    OuraSubscription,
    ProvidersState,
    ReceivedRequest,
)
from relay_testing.fakes.providers.users import ProviderUser
from relay_testing.fakes.providers.workouts import CorosImport, GarminStoredWorkout, UploadTarget

CONTROL_PREFIX = "/_fake"


class ProviderRef(BaseModel):
    provider: Provider


class QueuedUser(BaseModel):
    provider: Provider
    fields: dict[str, Any] = Field(description="`ProviderUser` fields; the rest is generated.")


class Revocation(BaseModel):
    provider: Provider
    provider_user_id: str


class StoredActivity(BaseModel):
    provider: Provider
    provider_user_id: str
    external_id: str
    payload: dict[str, Any] = Field(description="The activity in the provider's own shape.")


class ClockAdvance(BaseModel):
    advance_seconds: float


class NewCorosAccount(CorosAccount):
    password: str

    def account(self) -> CorosAccount:
        return CorosAccount.model_validate(self.model_dump(exclude={"password"}))


class PretendedUploads(BaseModel):
    target: UploadTarget
    times: int = Field(default=1, ge=1)


def add_control_routes(app: FastAPI, state: ProvidersState) -> None:
    @app.get(f"{CONTROL_PREFIX}/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "client_id": state.client_id}

    @app.post(f"{CONTROL_PREFIX}/users", status_code=201)
    async def queue_user(request: QueuedUser) -> ProviderUser:
        try:
            return state.queue_user(request.provider, request.fields)
        except ValidationError as invalid:
            raise HTTPException(422, detail=jsonable_encoder(invalid.errors())) from invalid

    @app.post(f"{CONTROL_PREFIX}/denials", status_code=204)
    async def deny_next(ref: ProviderRef) -> None:
        state.deny_next(ref.provider)

    @app.post(f"{CONTROL_PREFIX}/failures", status_code=201)
    async def fail_next(failure: Failure) -> Failure:
        state.add_failure(failure)
        return failure

    @app.post(f"{CONTROL_PREFIX}/revocations", status_code=204)
    async def revoke_grants(revocation: Revocation) -> None:
        state.revoke_grants(revocation.provider, revocation.provider_user_id)

    @app.post(f"{CONTROL_PREFIX}/refresh-token-expiries", status_code=204)
    async def expire_refresh_tokens(ref: ProviderRef) -> None:
        state.expire_refresh_tokens(ref.provider)

    @app.post(f"{CONTROL_PREFIX}/clock")
    async def advance_clock(body: ClockAdvance) -> dict[str, float]:
        return {"now": state.advance_clock(body.advance_seconds)}

    @app.post(f"{CONTROL_PREFIX}/coros-hub/accounts", status_code=201)
    async def add_coros_account(body: NewCorosAccount) -> CorosAccount:
        return state.add_coros_account(body.account(), body.password)

    @app.post(f"{CONTROL_PREFIX}/coros-hub/token-expiries", status_code=204)
    async def expire_coros_tokens() -> None:
        state.coros_hub.expire_tokens()

    @app.get(f"{CONTROL_PREFIX}/coros-hub/imports")
    async def coros_imports(email: str) -> list[CorosImport]:
        """The account's imports, each file in base64."""
        return state.coros_imports_of(email)

    @app.get(f"{CONTROL_PREFIX}/garmin/workouts/{{provider_user_id}}")
    async def garmin_workouts(provider_user_id: str) -> list[GarminStoredWorkout]:
        return state.garmin_workouts.of(provider_user_id)

    @app.post(f"{CONTROL_PREFIX}/pretended-uploads", status_code=204)
    async def pretend_next_upload(body: PretendedUploads) -> None:
        state.pretend_next_upload(body.target, body.times)

    @app.post(f"{CONTROL_PREFIX}/oura/subscriptions", status_code=201)
    async def add_oura_subscription(subscription: NewOuraSubscription) -> OuraSubscription:
        return state.add_oura_subscription(subscription)

    @app.get(f"{CONTROL_PREFIX}/oura/subscriptions")
    async def oura_subscriptions() -> list[OuraSubscription]:
        return state.oura_subscriptions()

    @app.put(f"{CONTROL_PREFIX}/activities", status_code=204)
    async def put_activity(activity: StoredActivity) -> None:
        state.put_activity(
            activity.provider, activity.provider_user_id, activity.external_id, activity.payload
        )

    @app.delete(f"{CONTROL_PREFIX}/activities/{{provider}}/{{provider_user_id}}/{{external_id}}")
    async def remove_activity(provider: Provider, provider_user_id: str, external_id: str) -> dict[str, bool]:
        return {"removed": state.remove_activity(provider, provider_user_id, external_id)}

    @app.get(f"{CONTROL_PREFIX}/tokens")
    async def issued_tokens() -> list[str]:
        return state.issued_tokens()

    @app.get(f"{CONTROL_PREFIX}/requests")
    async def received() -> list[ReceivedRequest]:
        return state.received

    @app.post(f"{CONTROL_PREFIX}/reset", status_code=204)
    async def reset() -> None:
        state.reset()
