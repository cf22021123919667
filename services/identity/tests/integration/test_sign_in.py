import base64
import hashlib
import json
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from .conftest import APP_REDIRECT, IdentityUnderTest, bearer


async def test_a_new_athlete_signs_in_with_strava_and_gets_the_seed_answer(
    identity: IdentityUnderTest,
) -> None:
    body = await identity.sign_in(athlete_id=98765, firstname="Lea", lastname="Brun")

    assert body["success"] is True and body["is_new_user"] is True
    user = body["user"]
    assert user["id"].startswith("usr_") and user["strava_id"] == "98765"
    assert (user["first_name"], user["last_name"], user["onboarding_completed"]) == ("Lea", "Brun", False)
    assert body["refresh_token"].startswith("rt_") and body["expires_at"] > time.time()
    registered = await identity.staged_events("identity.user.registered")
    assert [event["data"]["user_id"] for event in registered] == [user["id"]]
    assert identity.logins("strava", "succeeded") == 1


async def test_signing_in_again_finds_the_same_athlete(identity: IdentityUnderTest) -> None:
    first = await identity.sign_in(athlete_id=5001)
    again = await identity.sign_in(athlete_id=5001, firstname="Renamed")

    assert again["is_new_user"] is False and again["user"]["id"] == first["user"]["id"]
    assert again["user"]["first_name"] == "Renamed"
    updated = await identity.staged_events("identity.user.updated")
    assert updated[-1]["data"]["changed"] == ["first_name"]


async def test_the_access_token_is_an_es256_jwt_that_the_published_keys_verify(
    identity: IdentityUnderTest,
) -> None:
    body = await identity.sign_in(athlete_id=5002)
    token = body["token"]
    jwks = (await identity.client.get("/.well-known/jwks.json")).json()

    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert header["alg"] == "ES256" and "d" not in key  # the public half only
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience="relay-api")
    assert claims["sub"] == body["user"]["id"] and claims["strava_id"] == "5002"
    assert claims["exp"] - claims["iat"] == 900 and claims["sid"].startswith("ses_")


async def test_me_answers_the_athlete_of_the_token_and_nobody_else(identity: IdentityUnderTest) -> None:
    lea = await identity.sign_in(athlete_id=5003)
    tom = await identity.sign_in(athlete_id=5004)

    lea_me = await identity.client.get("/api/auth/me", headers=bearer(lea["token"]))
    tom_me = await identity.client.get("/api/auth/me", headers=bearer(tom["token"]))

    assert lea_me.status_code == 200 and lea_me.json()["user"]["strava_id"] == "5003"
    assert tom_me.json()["user"]["strava_id"] == "5004" and tom_me.json()["profile"] is None


async def test_forged_expired_and_foreign_tokens_are_refused_with_401(identity: IdentityUnderTest) -> None:
    body = await identity.sign_in(athlete_id=5005)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(body["token"])["kid"]
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": kid})
    tampered = body["token"][:-4] + ("AAAA" if not body["token"].endswith("AAAA") else "BBBB")
    unsigned = jwt.encode({**claims}, key="", algorithm="none")

    for token in (forged, tampered, unsigned, "not-a-jwt"):
        response = await identity.client.get("/api/auth/me", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "unauthorized"
    missing = await identity.client.get("/api/auth/me")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"


async def test_a_token_for_another_audience_or_past_its_expiry_is_refused(
    identity: IdentityUnderTest,
) -> None:
    body = await identity.sign_in(athlete_id=5006)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    signing = identity.app.state.runtime.resources.signing
    now = int(time.time())

    expired = await signing.sign({**claims, "iat": now - 3600, "exp": now - 1800})
    foreign = await signing.sign({**claims, "aud": "relay-admin"})
    other_issuer = await signing.sign({**claims, "iss": "somebody-else"})

    for token, reason in ((expired, "expired"), (foreign, None), (other_issuer, None)):
        response = await identity.client.get("/api/auth/me", headers=bearer(token))
        assert response.status_code == 401
        if reason:
            assert response.json()["error"]["details"]["reason"] == reason


async def test_a_wrong_unknown_or_reused_state_is_refused_with_400(identity: IdentityUnderTest) -> None:
    start = await identity.client.get("/api/auth/strava", params={"redirect_uri": APP_REDIRECT})
    async with httpx.AsyncClient() as browser:
        back = httpx.URL((await browser.get(start.headers["location"])).headers["location"])
    code, state = back.params["code"], back.params["state"]

    wrong = await identity.client.get("/api/auth/strava/callback", params={"code": code, "state": "x" * 43})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_state"
    assert (
        await identity.client.get("/api/auth/strava/callback", params={"code": code, "state": state})
    ).status_code == 200
    reused = await identity.client.get("/api/auth/strava/callback", params={"code": code, "state": state})
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "invalid_state"
    assert (identity.logins("strava", "invalid"), identity.logins("strava", "succeeded")) == (2, 1)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def test_with_pkce_only_the_app_holding_the_verifier_can_finish_the_sign_in(
    identity: IdentityUnderTest,
) -> None:
    verifier = "v" * 20 + "-pkce-verifier-of-the-app-1234567890"
    start = await identity.client.get(
        "/api/auth/strava",
        params={
            "redirect_uri": APP_REDIRECT,
            "state": "app-state-0123456789",
            "code_challenge": _s256(verifier),
        },
    )
    location = httpx.URL(start.headers["location"])
    assert location.params["state"] == "app-state-0123456789" and "code_challenge" not in location.params
    async with httpx.AsyncClient() as browser:
        back = httpx.URL((await browser.get(str(location))).headers["location"])
    params = {"code": back.params["code"], "state": back.params["state"]}

    for wrong in ({}, {"code_verifier": "w" * 50}):
        refused = await identity.client.get("/api/auth/strava/callback", params={**params, **wrong})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_code_verifier"
    accepted = await identity.client.get(
        "/api/auth/strava/callback", params={**params, "code_verifier": verifier}
    )
    assert accepted.status_code == 200, accepted.text


async def test_a_redirect_uri_that_is_not_the_apps_is_refused(identity: IdentityUnderTest) -> None:
    response = await identity.client.get(
        "/api/auth/strava", params={"redirect_uri": "https://evil.example/cb"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "redirect_uri", "reason": "not_allowed"}


async def _code_and_state(identity: IdentityUnderTest) -> dict[str, str]:
    start = await identity.client.get("/api/auth/strava", params={"redirect_uri": APP_REDIRECT})
    async with httpx.AsyncClient() as browser:
        back = httpx.URL((await browser.get(start.headers["location"])).headers["location"])
    return {"code": back.params["code"], "state": back.params["state"]}


async def test_strava_down_or_refusing_is_a_502_strava_error_and_creates_nothing(
    identity: IdentityUnderTest,
) -> None:
    for mode in ("down", "server_error", "rate_limited", "disconnect"):
        params = await _code_and_state(identity)
        await identity.strava.fail_next(mode)
        response = await identity.client.get("/api/auth/strava/callback", params=params)
        assert response.status_code == 502, mode
        assert response.json()["error"]["code"] == "strava_error"
    assert await identity.rows("SELECT id FROM users") == []
    assert identity.logins("strava", "failed") == 4
    assert await identity.rows("SELECT id FROM outbox") == []


async def test_a_code_strava_refuses_is_a_400_invalid_code(identity: IdentityUnderTest) -> None:
    params = await _code_and_state(identity)
    response = await identity.client.get("/api/auth/strava/callback", params={**params, "code": "0" * 40})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_code"
    assert await identity.rows("SELECT id FROM users") == []


async def test_strava_tokens_reach_connections_once_and_never_kafka(identity: IdentityUnderTest) -> None:
    body = await identity.sign_in(athlete_id=5007)
    grants = await identity.strava.grants()
    issued = (await identity.staged_events("identity.strava_grant.issued"))[0]["data"]
    outbox = json.dumps(
        [dict(row) for row in await identity.rows("SELECT payload, headers FROM outbox")], default=str
    )
    sealed = await identity.rows("SELECT tokens_sealed FROM strava_grants")

    claim = f"/internal/strava-grants/{issued['strava_grant_id']}/claim"
    refused = await identity.client.post(claim, headers=bearer("wrong"))
    claimed = await identity.client.post(claim, headers=bearer(identity.internal_token))
    again = await identity.client.post(claim, headers=bearer(identity.internal_token))

    assert refused.status_code == 401 and claimed.status_code == 200 and again.status_code == 404
    tokens = claimed.json()
    assert tokens["user_id"] == body["user"]["id"] and tokens["strava_athlete_id"] == "5007"
    assert grants[0].athlete_id == 5007
    for secret in (tokens["access_token"], tokens["refresh_token"]):
        assert secret not in outbox and secret not in sealed[0]["tokens_sealed"]
    assert await identity.rows("SELECT id FROM strava_grants") == []
