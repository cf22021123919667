"""Verifying athletes' access tokens against identity's published keys, without Redis (revocations
live in memory here; tests/integration/test_session_revocations.py uses the real Redis)."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request
from jwt.algorithms import ECAlgorithm

from relay_platform import auth
from relay_platform.auth import AccessClaims, AccessTokenVerifier, CurrentAthlete, authenticated_athlete
from relay_platform.errors import Unauthorized, install_error_handlers

ISSUER = "relay-identity"
AUDIENCE = "relay-api"
ADMIN_AUDIENCE = "relay-admin"
REFETCH_INTERVAL = 10.0
MAX_KEY_AGE = 300.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"


class Identity:
    """Identity's side: signing keys, the key set it publishes, and the tokens it signs."""

    def __init__(self) -> None:
        self.signing_keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.published: list[str] = []

    def add_key(self, kid: str, *, publish: bool = True) -> ec.EllipticCurvePrivateKey:
        self.signing_keys[kid] = ec.generate_private_key(ec.SECP256R1())
        if publish:
            self.published.append(kid)
        return self.signing_keys[kid]

    def retire(self, kid: str) -> None:
        self.published.remove(kid)

    def jwk(self, kid: str) -> dict[str, Any]:
        public = ECAlgorithm.to_jwk(self.signing_keys[kid].public_key(), as_dict=True)
        return {**public, "kid": kid, "use": "sig", "alg": "ES256"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk(kid) for kid in self.published]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "athlete-1",
            "strava_id": "98765",
            "sid": "session-1",
            "iat": now,
            "exp": now + 900,
            "aud": AUDIENCE,
            "iss": ISSUER,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str, *, signed_with: ec.EllipticCurvePrivateKey | None = None, **claims: Any) -> str:
        key = signed_with or self.signing_keys[kid]
        return jwt.encode(self.claims(**claims), key, algorithm="ES256", headers={"kid": kid})


class KeySource:
    """Identity's `/.well-known/jwks.json` as the verifier sees it: counts fetches, can be down."""

    def __init__(self, identity: Identity, *, latency: float = 0.0) -> None:
        self.identity = identity
        self.latency = latency
        self.calls = 0
        self.down = False
        self.overrides: dict[str, Any] | None = None

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(self.latency)
        if self.down:
            raise httpx.ConnectError("identity does not answer")
        return self.overrides if self.overrides is not None else self.identity.jwks()


class InMemoryRevocations:
    def __init__(self) -> None:
        self.revoked: set[str] = set()

    async def revoke(self, session_id: str, *, for_seconds: int) -> None:
        self.revoked.add(session_id)

    async def is_revoked(self, session_id: str) -> bool:
        return session_id in self.revoked


class Clock:
    """Stands in for the `time` module inside relay_platform.auth, so key-set ages can be moved on."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(auth, "time", clock)
    return clock


@pytest.fixture
def identity() -> Identity:
    identity = Identity()
    identity.add_key("2026-01")
    return identity


@pytest.fixture
def key_source(identity: Identity) -> KeySource:
    return KeySource(identity, latency=0.01)


@pytest.fixture
def revocations() -> InMemoryRevocations:
    return InMemoryRevocations()


@pytest.fixture
def verifier(clock: Clock, key_source: KeySource, revocations: InMemoryRevocations) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        key_source=key_source,
        issuer=ISSUER,
        audience=AUDIENCE,
        admin_audience=ADMIN_AUDIENCE,
        revocations=revocations,  # type: ignore[arg-type]
        refetch_interval_seconds=REFETCH_INTERVAL,
        max_key_age_seconds=MAX_KEY_AGE,
    )


async def refused(verifier: AccessTokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as refusal:
        await verifier.verify(token)
    assert refusal.value.status_code == 401
    assert refusal.value.code == "unauthorized"
    return refusal.value


async def test_a_valid_token_gives_its_claims(verifier: AccessTokenVerifier, identity: Identity) -> None:
    claims = await verifier.verify(identity.token("2026-01"))
    assert claims.sub == "athlete-1"
    assert claims.strava_id == "98765"
    assert claims.sid == "session-1"
    assert claims.exp > claims.iat


async def test_a_token_without_a_strava_id_is_still_valid(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    claims = await verifier.verify(identity.token("2026-01", strava_id=None))
    assert claims.strava_id is None


async def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    impostor = ec.generate_private_key(ec.SECP256R1())
    await refused(verifier, identity.token("2026-01", signed_with=impostor))


async def test_a_token_whose_claims_were_changed_after_signing_is_refused(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    header, _, signature = identity.token("2026-01").split(".")
    other_claims = b64url(json.dumps(identity.claims(sub="athlete-2")).encode())
    await refused(verifier, f"{header}.{other_claims}.{signature}")


async def test_an_expired_token_is_refused_with_reason_expired(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    now = int(time.time())
    refusal = await refused(verifier, identity.token("2026-01", iat=now - 960, exp=now - 60))
    assert refusal.details == {"reason": "expired"}


async def test_a_token_expired_by_less_than_the_leeway_is_accepted(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    now = int(time.time())
    claims = await verifier.verify(identity.token("2026-01", iat=now - 900, exp=now - 2))
    assert claims.sub == "athlete-1"


@pytest.mark.parametrize("audience", [ADMIN_AUDIENCE, "another-api", ["another-api"]])
async def test_a_token_for_another_audience_is_refused(
    verifier: AccessTokenVerifier, identity: Identity, audience: str | list[str]
) -> None:
    await refused(verifier, identity.token("2026-01", aud=audience))


async def test_a_token_from_another_issuer_is_refused(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    await refused(verifier, identity.token("2026-01", iss="someone-else"))


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "sid", "aud", "iss"])
async def test_a_token_missing_a_required_claim_is_refused(
    verifier: AccessTokenVerifier, identity: Identity, missing: str
) -> None:
    await refused(verifier, identity.token("2026-01", **{missing: None}))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_an_unsigned_token_is_refused(
    verifier: AccessTokenVerifier, identity: Identity, alg: str
) -> None:
    token = unsigned({"alg": alg, "typ": "JWT", "kid": "2026-01"}, identity.claims()) + "."
    await refused(verifier, token)


async def test_a_token_claiming_es256_without_a_signature_is_refused(
    verifier: AccessTokenVerifier, identity: Identity
) -> None:
    token = unsigned({"alg": "ES256", "typ": "JWT", "kid": "2026-01"}, identity.claims()) + "."
    await refused(verifier, token)


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
async def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    verifier: AccessTokenVerifier, identity: Identity, encoding: serialization.Encoding
) -> None:
    public = identity.signing_keys["2026-01"].public_key()
    secret = public.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": "2026-01"}, identity.claims())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    await refused(verifier, f"{signing_input}.{b64url(signature)}")


async def test_a_token_without_a_kid_is_refused(verifier: AccessTokenVerifier, identity: Identity) -> None:
    token = jwt.encode(identity.claims(), identity.signing_keys["2026-01"], algorithm="ES256")
    await refused(verifier, token)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..."])
async def test_a_malformed_token_is_refused(verifier: AccessTokenVerifier, token: str) -> None:
    await refused(verifier, token)


async def test_a_token_of_a_revoked_session_is_refused(
    verifier: AccessTokenVerifier, identity: Identity, revocations: InMemoryRevocations
) -> None:
    token = identity.token("2026-01", sid="session-7")
    await verifier.verify(token)
    await revocations.revoke("session-7", for_seconds=900)
    refusal = await refused(verifier, token)
    assert refusal.details == {"reason": "revoked"}
    assert (await verifier.verify(identity.token("2026-01", sid="session-8"))).sid == "session-8"


async def test_the_key_set_is_fetched_once_for_many_tokens(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource
) -> None:
    for athlete in range(20):
        await verifier.verify(identity.token("2026-01", sub=f"athlete-{athlete}"))
    assert key_source.calls == 1


async def test_concurrent_first_requests_fetch_the_key_set_once(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource
) -> None:
    tokens = [identity.token("2026-01", sub=f"athlete-{n}") for n in range(20)]
    results = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert {claims.sub for claims in results} == {f"athlete-{n}" for n in range(20)}
    assert key_source.calls == 1


async def test_a_token_signed_by_a_newly_rotated_key_is_accepted_after_one_refetch(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    await verifier.verify(identity.token("2026-01"))
    clock.advance(REFETCH_INTERVAL + 1)

    identity.add_key("2026-02")
    claims = await verifier.verify(identity.token("2026-02", sub="athlete-2"))

    assert claims.sub == "athlete-2"
    assert key_source.calls == 2
    await verifier.verify(identity.token("2026-01"))  # the old key stays valid while it is published
    await verifier.verify(identity.token("2026-02"))
    assert key_source.calls == 2


async def test_a_key_rotated_just_after_a_fetch_is_accepted_once_the_interval_has_passed(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    await verifier.verify(identity.token("2026-01"))
    identity.add_key("2026-02")
    refusal = await refused(verifier, identity.token("2026-02"))
    assert refusal.details == {"reason": "unknown_kid"}

    clock.advance(REFETCH_INTERVAL + 1)
    assert (await verifier.verify(identity.token("2026-02"))).sub == "athlete-1"
    assert key_source.calls == 2


async def test_a_burst_of_unknown_kids_refetches_at_most_once_per_interval(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    await verifier.verify(identity.token("2026-01"))
    clock.advance(REFETCH_INTERVAL + 1)
    impostor = ec.generate_private_key(ec.SECP256R1())
    forged = [identity.token(f"forged-{n}", signed_with=impostor) for n in range(50)]

    outcomes = await asyncio.gather(*(verifier.verify(token) for token in forged), return_exceptions=True)
    for token in forged[:10]:
        await refused(verifier, token)

    assert all(isinstance(outcome, Unauthorized) for outcome in outcomes)
    assert key_source.calls == 2

    clock.advance(REFETCH_INTERVAL + 1)
    await refused(verifier, forged[0])
    assert key_source.calls == 3


async def test_the_key_set_is_fetched_again_once_it_is_older_than_its_maximum_age(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    identity.add_key("2026-02")
    old_token = identity.token("2026-01")
    await verifier.verify(old_token)

    identity.retire("2026-01")
    clock.advance(MAX_KEY_AGE / 2)
    await verifier.verify(old_token)  # still cached
    assert key_source.calls == 1

    clock.advance(MAX_KEY_AGE / 2 + 1)
    refusal = await refused(verifier, old_token)
    assert refusal.details == {"reason": "unknown_kid"}
    assert key_source.calls == 2
    await verifier.verify(identity.token("2026-02"))


async def test_during_a_key_set_outage_known_keys_keep_working(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    token = identity.token("2026-01")
    await verifier.verify(token)
    key_source.down = True

    for _ in range(3):
        clock.advance(MAX_KEY_AGE + 1)
        for _ in range(5):
            assert (await verifier.verify(token)).sub == "athlete-1"
    assert key_source.calls == 1 + 3  # one attempt per stale period, none per request


async def test_the_first_request_during_a_key_set_outage_is_refused_not_failed(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource
) -> None:
    key_source.down = True
    refusal = await refused(verifier, identity.token("2026-01"))
    assert refusal.details == {"reason": "unknown_kid"}


async def test_during_a_key_set_outage_unknown_kids_do_not_hammer_the_key_source(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    await verifier.verify(identity.token("2026-01"))
    clock.advance(REFETCH_INTERVAL + 1)
    key_source.down = True
    impostor = ec.generate_private_key(ec.SECP256R1())

    for n in range(20):
        await refused(verifier, identity.token(f"forged-{n}", signed_with=impostor))
    await asyncio.gather(
        *(refused(verifier, identity.token(f"forged-{n}", signed_with=impostor)) for n in range(20))
    )

    assert key_source.calls == 2


async def test_after_a_key_set_outage_a_rotated_key_is_picked_up(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource, clock: Clock
) -> None:
    await verifier.verify(identity.token("2026-01"))
    clock.advance(REFETCH_INTERVAL + 1)
    key_source.down = True
    identity.add_key("2026-02")
    await refused(verifier, identity.token("2026-02"))

    key_source.down = False
    clock.advance(REFETCH_INTERVAL + 1)
    assert (await verifier.verify(identity.token("2026-02"))).sub == "athlete-1"
    assert (await verifier.verify(identity.token("2026-01"))).sub == "athlete-1"


async def test_keys_not_meant_for_signatures_are_not_trusted(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource
) -> None:
    identity.add_key("encryption", publish=False)
    key_source.overrides = {"keys": [identity.jwk("2026-01"), {**identity.jwk("encryption"), "use": "enc"}]}
    await verifier.verify(identity.token("2026-01"))
    await refused(verifier, identity.token("encryption"))


async def test_an_unusable_entry_in_the_key_set_does_not_stop_the_others_from_working(
    verifier: AccessTokenVerifier, identity: Identity, key_source: KeySource
) -> None:
    rsa_like = {"kty": "RSA", "kid": "legacy", "use": "sig", "n": "AQAB", "e": "AQAB"}
    key_source.overrides = {"keys": [rsa_like, identity.jwk("2026-01"), {"kid": "broken"}]}
    assert (await verifier.verify(identity.token("2026-01"))).sub == "athlete-1"
    other = ec.generate_private_key(ec.SECP256R1())
    refusal = await refused(verifier, identity.token("legacy", signed_with=other))
    assert refusal.details == {"reason": "unknown_kid"}


# The FastAPI dependency


@pytest.fixture
def app(verifier: AccessTokenVerifier) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = SimpleNamespace(auth=verifier)

    @app.get("/api/me")
    async def me(athlete: CurrentAthlete) -> dict[str, str]:
        return {"athlete": athlete.sub}

    return app


@pytest.fixture
async def client(app: FastAPI) -> Any:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay") as client:
        yield client


async def test_an_endpoint_receives_the_athlete_of_a_valid_bearer_token(
    client: httpx.AsyncClient, identity: Identity
) -> None:
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {identity.token('2026-01')}"})
    assert response.status_code == 200
    assert response.json() == {"athlete": "athlete-1"}


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"],
    ids=["absent", "empty", "scheme-only", "blank-token", "basic", "other-scheme"],
)
async def test_a_request_without_a_bearer_token_gets_401_in_the_error_envelope(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.json()["error"]["message"] == "Missing bearer token"


async def test_a_request_with_an_expired_token_gets_401_with_the_reason(
    client: httpx.AsyncClient, identity: Identity
) -> None:
    now = int(time.time())
    token = identity.token("2026-01", iat=now - 960, exp=now - 60)
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "Access token expired",
        "details": {"reason": "expired"},
    }


async def test_the_scheme_of_the_authorization_header_is_case_insensitive(
    client: httpx.AsyncClient, identity: Identity
) -> None:
    response = await client.get("/api/me", headers={"Authorization": f"bearer {identity.token('2026-01')}"})
    assert response.status_code == 200


async def test_the_athlete_is_kept_on_the_request_so_its_token_is_verified_once(
    app: FastAPI, identity: Identity, verifier: AccessTokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    verify = verifier.verify

    async def counting_verify(token: str) -> AccessClaims:
        verified.append(token)
        return await verify(token)

    monkeypatch.setattr(verifier, "verify", counting_verify)
    token = identity.token("2026-01")
    request = Request(
        {"type": "http", "app": app, "headers": [(b"authorization", f"Bearer {token}".encode())], "state": {}}
    )

    first = await authenticated_athlete(request)
    second = await authenticated_athlete(request)

    assert first is second
    assert verified == [token]
