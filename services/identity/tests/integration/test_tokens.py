from datetime import timedelta

import jwt

from identity.signing import PUBLISH_BEFORE_SIGNING

from .conftest import IdentityUnderTest, bearer


async def test_a_refresh_token_buys_a_new_pair_once(identity: IdentityUnderTest) -> None:
    signed_in = await identity.sign_in(athlete_id=6001)

    refreshed = await identity.client.post(
        "/api/auth/refresh", json={"refresh_token": signed_in["refresh_token"]}
    )

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["success"] is True and body["refresh_token"] != signed_in["refresh_token"]
    assert (await identity.client.get("/api/auth/me", headers=bearer(body["token"]))).status_code == 200


async def test_the_refresh_token_may_come_as_the_bearer_token_as_in_the_seed(
    identity: IdentityUnderTest,
) -> None:
    signed_in = await identity.sign_in(athlete_id=6002)
    refreshed = await identity.client.post("/api/auth/refresh", headers=bearer(signed_in["refresh_token"]))
    assert refreshed.status_code == 200


async def test_a_reused_refresh_token_revokes_the_whole_session(identity: IdentityUnderTest) -> None:
    signed_in = await identity.sign_in(athlete_id=6003)
    stolen = signed_in["refresh_token"]
    legit = (await identity.client.post("/api/auth/refresh", json={"refresh_token": stolen})).json()

    replay = await identity.client.post("/api/auth/refresh", json={"refresh_token": stolen})

    assert replay.status_code == 401 and replay.json()["error"]["details"]["reason"] == "reused"
    # Everything of that session stops working: the newer refresh token and the access tokens.
    assert (
        await identity.client.post("/api/auth/refresh", json={"refresh_token": legit["refresh_token"]})
    ).status_code == 401
    assert (await identity.client.get("/api/auth/me", headers=bearer(legit["token"]))).status_code == 401
    assert (await identity.client.get("/api/auth/me", headers=bearer(signed_in["token"]))).status_code == 401
    revoked = await identity.staged_events("identity.session.revoked")
    assert [event["data"]["reason"] for event in revoked] == ["refresh_token_reused"]
    outcomes = [identity.logins("refresh", outcome) for outcome in ("succeeded", "reused", "invalid")]
    assert outcomes == [1, 1, 1]


async def test_another_device_of_the_athlete_keeps_its_session(identity: IdentityUnderTest) -> None:
    phone = await identity.sign_in(athlete_id=6004)
    watch = await identity.sign_in(athlete_id=6004)

    assert (await identity.client.post("/api/auth/logout", headers=bearer(phone["token"]))).json() == {
        "success": True
    }

    assert (await identity.client.get("/api/auth/me", headers=bearer(phone["token"]))).status_code == 401
    assert (
        await identity.client.post("/api/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    ).status_code == 401
    assert (await identity.client.get("/api/auth/me", headers=bearer(watch["token"]))).status_code == 200


async def test_an_unknown_refresh_token_is_a_401(identity: IdentityUnderTest) -> None:
    for token in ("rt_" + "x" * 43, "eyJhbGciOi.not-a-refresh-token"):
        response = await identity.client.post("/api/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


async def test_rotating_the_signing_key_refuses_no_token(identity: IdentityUnderTest) -> None:
    signing = identity.app.state.runtime.resources.signing
    before = await identity.sign_in(athlete_id=6005)
    old_kid = jwt.get_unverified_header(before["token"])["kid"]

    new_kid = await signing.rotate(retire_previous_after=timedelta(minutes=16))
    published = {key["kid"] for key in (await identity.client.get("/.well-known/jwks.json")).json()["keys"]}
    # The new key is published at once but signs only once every verifier can have fetched it.
    await identity.rows(
        "UPDATE signing_keys SET created_at = created_at - $1::interval WHERE kid = $2",
        PUBLISH_BEFORE_SIGNING,
        new_kid,
    )
    after = await identity.sign_in(athlete_id=6005)

    assert published == {old_kid, new_kid}
    assert jwt.get_unverified_header(after["token"])["kid"] == new_kid
    for token in (before["token"], after["token"]):
        assert (await identity.client.get("/api/auth/me", headers=bearer(token))).status_code == 200
