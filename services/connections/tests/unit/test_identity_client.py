"""Claiming a Strava grant from identity: what each answer means for the consumer."""

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from connections.identity_client import IdentityClient, IdentityRefused, IdentityUnavailable
from relay_platform.consumers import TRANSIENT_ERRORS
from relay_platform.http import create_http_client

ACCESS, REFRESH = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432"
CLAIMED = {
    "strava_grant_id": "sg_01",
    "user_id": "usr_01",
    "strava_athlete_id": "134815",
    "access_token": ACCESS,
    "refresh_token": REFRESH,
    "expires_at": "2026-12-01T13:30:00+00:00",
    "scopes": ["read", "activity:read_all"],
}


def identity(
    respond: Callable[[httpx.Request], httpx.Response],
) -> tuple[IdentityClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)

    http = create_http_client("http://identity.internal", transport=httpx.MockTransport(handler), retries=0)
    return IdentityClient(http, SecretStr("internal-7f3a")), seen


def not_found(_: httpx.Request) -> httpx.Response:
    body = {"error": {"code": "not_found", "message": "No such unclaimed Strava grant", "details": {}}}
    return httpx.Response(404, json=body)


async def test_a_claim_posts_to_identity_with_the_internal_token_and_returns_the_tokens() -> None:
    client, seen = identity(lambda _: httpx.Response(200, json=CLAIMED))

    claimed = await client.claim_strava_grant("sg_01")

    assert claimed is not None
    assert claimed.access_token.get_secret_value() == ACCESS
    assert claimed.refresh_token.get_secret_value() == REFRESH
    assert claimed.expires_at.utcoffset() is not None
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/internal/strava-grants/sg_01/claim")]
    assert seen[0].headers["authorization"] == "Bearer internal-7f3a"


def test_claimed_tokens_never_print() -> None:
    from connections.identity_client import ClaimedStravaGrant

    claimed = ClaimedStravaGrant.model_validate(CLAIMED)
    assert ACCESS not in repr(claimed)
    assert REFRESH not in str(claimed)


async def test_a_grant_that_cannot_be_claimed_any_more_is_nothing_to_do() -> None:
    client, _ = identity(not_found)
    assert await client.claim_strava_grant("sg_01") is None


async def test_a_grant_id_cannot_reach_another_path_of_identity() -> None:
    client, seen = identity(not_found)
    await client.claim_strava_grant("../../admin")
    assert seen[0].url.raw_path == b"/internal/strava-grants/..%2F..%2Fadmin/claim"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_identity_failing_is_transient(status: int) -> None:
    client, _ = identity(lambda _: httpx.Response(status))
    with pytest.raises(IdentityUnavailable) as raised:
        await client.claim_strava_grant("sg_01")
    assert isinstance(raised.value, TRANSIENT_ERRORS)


async def test_identity_out_of_reach_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, _ = identity(refuse)
    with pytest.raises(IdentityUnavailable) as raised:
        await client.claim_strava_grant("sg_01")
    assert isinstance(raised.value, TRANSIENT_ERRORS)


async def test_a_refused_internal_token_is_not_transient() -> None:
    body = {"error": {"code": "unauthorized", "message": "Unknown internal caller", "details": {}}}
    client, _ = identity(lambda _: httpx.Response(401, json=body))
    with pytest.raises(IdentityRefused, match="401") as raised:
        await client.claim_strava_grant("sg_01")
    assert not isinstance(raised.value, TRANSIENT_ERRORS)


async def test_a_404_that_is_not_identitys_error_envelope_is_not_taken_for_a_claimed_grant() -> None:
    client, _ = identity(lambda _: httpx.Response(404, text="<html>Not Found</html>"))
    with pytest.raises(IdentityRefused, match="404"):
        await client.claim_strava_grant("sg_01")


async def test_a_malformed_answer_is_refused_without_quoting_the_tokens() -> None:
    client, _ = identity(lambda _: httpx.Response(200, json={**CLAIMED, "expires_at": "soon"}))
    with pytest.raises(IdentityRefused) as raised:
        await client.claim_strava_grant("sg_01")
    assert "expires_at" in str(raised.value)
    assert ACCESS not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
