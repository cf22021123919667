"""Revoked sign-in sessions, shared through the real Redis by every replica of every service."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from relay_platform.auth import REVOKED_SESSION_KEY, AccessTokenVerifier, CurrentAthlete, SessionRevocations
from relay_platform.errors import Unauthorized, install_error_handlers
from relay_testing.plugin import Infrastructure

pytestmark = pytest.mark.integration

SignAccessToken = Callable[..., str]  # the `sign_access_token` fixture of conftest.py


@pytest.fixture
async def session_id(redis: Redis) -> AsyncIterator[str]:
    session_id = f"test-{uuid.uuid4().hex}"
    yield session_id
    await redis.delete(REVOKED_SESSION_KEY.format(session_id))


async def test_a_token_of_a_revoked_session_is_refused(
    verifier: AccessTokenVerifier, redis: Redis, sign_access_token: SignAccessToken, session_id: str
) -> None:
    token = sign_access_token("athlete-1", sid=session_id)
    assert (await verifier.verify(token)).sid == session_id

    await SessionRevocations(redis).revoke(session_id, for_seconds=900)

    with pytest.raises(Unauthorized) as refusal:
        await verifier.verify(token)
    assert refusal.value.details == {"reason": "revoked"}


async def test_revoking_one_session_leaves_the_athletes_other_sessions_signed_in(
    verifier: AccessTokenVerifier, redis: Redis, sign_access_token: SignAccessToken, session_id: str
) -> None:
    await SessionRevocations(redis).revoke(session_id, for_seconds=900)
    other_device = sign_access_token("athlete-1")
    assert (await verifier.verify(other_device)).sub == "athlete-1"


async def test_a_revocation_written_by_one_replica_is_seen_by_another(
    infrastructure: Infrastructure, session_id: str
) -> None:
    identity_redis = Redis.from_url(infrastructure.redis_url)
    planning_redis = Redis.from_url(infrastructure.redis_url)
    try:
        assert not await SessionRevocations(planning_redis).is_revoked(session_id)
        await SessionRevocations(identity_redis).revoke(session_id, for_seconds=900)
        assert await SessionRevocations(planning_redis).is_revoked(session_id)
    finally:
        await identity_redis.aclose()
        await planning_redis.aclose()


async def test_a_revocation_lasts_as_long_as_the_tokens_it_covers(redis: Redis, session_id: str) -> None:
    await SessionRevocations(redis).revoke(session_id, for_seconds=900)
    assert 890 <= await redis.ttl(REVOKED_SESSION_KEY.format(session_id)) <= 900


async def test_a_revocation_is_forgotten_once_its_tokens_have_expired(redis: Redis, session_id: str) -> None:
    revocations = SessionRevocations(redis)
    await revocations.revoke(session_id, for_seconds=1)
    assert await revocations.is_revoked(session_id)
    await asyncio.sleep(1.2)
    assert not await revocations.is_revoked(session_id)


@pytest.mark.parametrize("for_seconds", [0, -5])
async def test_a_revocation_for_no_time_still_takes_effect(
    redis: Redis, session_id: str, for_seconds: int
) -> None:
    revocations = SessionRevocations(redis)
    await revocations.revoke(session_id, for_seconds=for_seconds)
    assert await revocations.is_revoked(session_id)


async def test_an_endpoint_answers_401_revoked_to_a_signed_out_session(
    verifier: AccessTokenVerifier, redis: Redis, sign_access_token: SignAccessToken, session_id: str
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = SimpleNamespace(auth=verifier)

    @app.get("/api/me")
    async def me(athlete: CurrentAthlete) -> dict[str, str]:
        return {"athlete": athlete.sub}

    headers = {"Authorization": f"Bearer {sign_access_token('athlete-1', sid=session_id)}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay") as client:
        assert (await client.get("/api/me", headers=headers)).status_code == 200
        await SessionRevocations(redis).revoke(session_id, for_seconds=900)
        response = await client.get("/api/me", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "Session revoked",
        "details": {"reason": "revoked"},
    }
