"""The people who call Relay in the authorization tests (`test_authorization.py`): an athlete who owns
one of everything Relay keeps (a program and its sessions, activities merged from two providers, a
provider link, an export, an API key), another athlete with a program of their own, an athlete whose
phone was lost, an operator of each back-office role, and the tokens nobody was given (malformed,
forged, expired, of another audience)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from relay_devstack import Stack
from relay_devstack.stack import DEV_SECRETS_KEYS
from relay_platform.crypto import Keyring

from .conftest import Databases, create_super_admin, device_client
from .test_connections import bearer
from .test_export import fake_providers
from .test_identity import eventually, sign_in
from .test_ingestion import strava_of
from .test_planning import ok, onboard

ROLES = ("read_only", "support", "super_admin")
PASSWORD = "correct horse battery staple"
APP = "relay://relay.app/connections"


class Devices:
    """Clients of the gateway from fresh addresses, a new one every `per_device` requests: the per-IP
    limits of a minute stay out of the way however many calls a test makes (the per-athlete and
    per-session ones still apply)."""

    def __init__(self, stack: Stack, per_device: int = 30, concurrency: int = 8) -> None:
        self._stack = stack
        self._per_device = per_device
        self._clients: list[httpx.AsyncClient] = []
        self._sent = 0
        self._slots = asyncio.Semaphore(concurrency)

    def _client(self) -> httpx.AsyncClient:
        if not self._clients or self._sent % self._per_device == 0:
            self._clients.append(device_client(self._stack))
        self._sent += 1
        return self._clients[-1]

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        client = self._client()
        async with self._slots:
            return await client.request(method, url, **kwargs)

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients))

    async def __aenter__(self) -> Devices:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class Athlete:
    user_id: str
    strava_id: int
    token: str

    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass(frozen=True)
class Operator:
    """A back-office account of a role, signed in: its `admin_session` cookie and CSRF token."""

    role: str
    email: str
    session: str
    csrf: str

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"admin_session={self.session}"}
        return headers | {"X-CSRF-Token": self.csrf} if csrf else headers


@dataclass
class World:
    owner: Athlete
    stranger: Athlete
    lost_phone: Athlete
    operators: dict[str, Operator]
    owned: dict[str, str]
    """The owner's resources: by the path parameter that names one in the API, or by a label."""
    targets: dict[str, str] = field(default_factory=dict)
    """The other values of path parameters: the operators' targets, a week's number, a provider."""

    @property
    def path_values(self) -> dict[str, str]:
        return self.targets | {key: value for key, value in self.owned.items() if ":" not in key}

    def identifiers(self) -> set[str]:
        """Every value that names the owner or one of their resources."""
        return {self.owner.user_id, str(self.owner.strava_id), *self.owned.values()}


def user_of(token: str) -> str:
    sub: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return sub


async def signed_in_athlete(stack: Stack, **fields: Any) -> Athlete:
    strava_id = random.randint(10**7, 10**8)
    async with device_client(stack) as gateway:
        signed_in = await sign_in(gateway, stack, strava_id, **fields)
    return Athlete(signed_in["user"]["id"], strava_id, signed_in["token"])


async def onboarded(stack: Stack, strava_id: int) -> tuple[Athlete, dict[str, Any]]:
    """An athlete signed in with Strava, through the whole onboarding: their program."""
    async with device_client(stack) as gateway:
        token, program = await onboard(gateway, stack, strava_id)
    return Athlete(user_of(token), strava_id, token), program


# -- operators ---------------------------------------------------------------------------------------


async def log_in(stack: Stack, role: str, email: str) -> Operator:
    async with device_client(stack) as gateway:
        answer = await gateway.post("/api/admin/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return Operator(role, email, answer.cookies["admin_session"], answer.json()["csrf_token"])


async def operators(stack: Stack) -> dict[str, Operator]:
    """A super_admin made with identity's command, who creates a support and a read_only account
    through the back office; each signed in."""
    email = f"root-{uuid.uuid4().hex[:8]}@relay.example"
    await create_super_admin(stack, email, PASSWORD, "Root")
    root = await log_in(stack, "super_admin", email)

    async def created(role: str) -> Operator:
        account = {
            "email": f"{role.replace('_', '-')}-{uuid.uuid4().hex[:8]}@relay.example",
            "name": role,
            "role": role,
            "password": PASSWORD,
        }
        async with device_client(stack) as gateway:
            answer = await gateway.post("/api/admin/admins", json=account, headers=root.headers())
        assert answer.status_code == 201, answer.text
        return await log_in(stack, role, account["email"])

    support, read_only = await asyncio.gather(created("support"), created("read_only"))
    return {"super_admin": root, "support": support, "read_only": read_only}


# -- the owner's data ----------------------------------------------------------------------------------


async def settled(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 45.0) -> Any:
    found = await eventually(check, timeout=timeout)
    assert found, f"{what} never happened"
    return found


async def owner_with_everything(stack: Stack, databases: Databases) -> tuple[Athlete, dict[str, str]]:
    """An athlete with one of everything: a Strava ride backfilled at sign-in and the same ride uploaded
    by the bridge app with their API key (merged as one workout), a program from the onboarding, a
    Garmin link, and a session of the program exported to Garmin. Returns them by the path parameter
    that names each one."""
    strava_id = random.randint(10**7, 10**8)
    start = (datetime.now(UTC) - timedelta(days=2)).replace(hour=7, minute=0, second=0, microsecond=0)
    ride = await strava_of(stack).put_activity(
        strava_id,
        {
            "sport_type": "Ride",
            "name": "Sortie du matin",
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "moving_time": 3600,
            "elapsed_time": 3660,
            "distance": 30000.0,
        },
    )
    owner, program = await onboarded(stack, strava_id)
    ids = {"program_id": program["id"]}
    async with device_client(stack) as gateway:
        started = await ok(
            gateway, "POST", "/api/providers/garmin/connect", owner.token, json={"redirect_uri": APP}
        )
        back = await fake_providers(stack).authorize("garmin", started["authorization_url"])
        linked = await gateway.get("/api/providers/garmin/callback", params=dict(back.params))
        assert linked.status_code == 302 and "status=linked" in linked.headers["location"], linked.text
        key = await gateway.post(
            "/api/auth/api-keys", json={"name": "Health Auto Export"}, headers=owner.headers()
        )
        assert key.status_code == 201, key.text
        ids["api_key_id"] = key.json()["id"]
        await _upload_the_same_ride(gateway, key.json()["key"], start)
        week = (await ok(gateway, "GET", f"/api/program/{program['id']}/week/1", owner.token))["week"]
        ids["week_id"] = week["id"]
        ids |= {f"owner:session:{s['id']}": s["id"] for s in week["sessions"]}
        ids["session_id"] = week["sessions"][-1]["id"]
        connections = (await ok(gateway, "GET", "/api/providers/connections", owner.token))["connections"]
        ids |= {f"owner:connection:{c['provider']}": c["id"] for c in connections}
        ids["connection_id"] = ids["owner:connection:garmin"]

        async def planned_in_export() -> bool:
            found = await databases.fetch(
                "export", "SELECT 1 FROM planned_sessions WHERE session_id = $1", ids["session_id"]
            )
            return bool(found)

        await settled(planned_in_export, "the session reaching export")
        asked = await gateway.post(
            f"/api/sessions/{ids['session_id']}/export", json={"provider": "garmin"}, headers=owner.headers()
        )
        assert asked.status_code == 202, asked.text
        ids["export_id"] = asked.json()["id"]

    async def merged() -> list[Any]:
        return await databases.fetch(
            "ingestion",
            "SELECT m.id, m.kept_id, m.duplicate_id, a.external_id FROM activity_merges m "
            "JOIN activities a ON a.id = m.kept_id WHERE m.user_id = $1",
            owner.user_id,
        )

    async def export_done() -> bool:
        status = await databases.fetchval(
            "export", "SELECT status FROM workout_exports WHERE id = $1", ids["export_id"]
        )
        return status in ("exported", "failed")

    async def scored() -> bool:
        found = await databases.fetch(
            "planning", "SELECT 1 FROM activity_loads WHERE user_id = $1", owner.user_id
        )
        return bool(found)

    [merge] = await settled(merged, "the bridge's copy of the ride merging into Strava's")
    assert merge["external_id"] == str(ride["id"]), merge
    ids |= {
        "merge_id": str(merge["id"]),
        "activity_id": str(merge["kept_id"]),
        "owner:activity:bridge": str(merge["duplicate_id"]),
        "owner:activity:strava": str(ride["id"]),
    }
    await settled(export_done, "the export to Garmin")
    await settled(scored, "the ride's training load")
    return owner, ids


async def _upload_the_same_ride(gateway: httpx.AsyncClient, key: str, start: datetime) -> None:
    """The ride as an Apple Watch recorded it, sent by the bridge app. The key reaches ingestion through
    Kafka: the first uploads may be refused until it has."""
    workout = {
        "id": str(uuid.uuid4()),
        "name": "Outdoor Cycling",
        "start": start.strftime("%Y-%m-%d %H:%M:%S +0000"),
        "end": (start + timedelta(seconds=3660)).strftime("%Y-%m-%d %H:%M:%S +0000"),
        "duration": 3660,
        "distance": {"qty": 30.2, "units": "km"},
    }

    async def uploaded() -> bool:
        answer = await gateway.post(
            "/api/webhooks/ingest", json={"data": {"workouts": [workout]}}, headers={"X-API-Key": key}
        )
        assert answer.status_code in (202, 401), answer.text
        return answer.status_code == 202

    await settled(uploaded, "the bridge app's upload")


async def build_world(stack: Stack) -> World:
    databases = Databases(stack)
    (owner, ids), (stranger, _), lost_phone, admins = await asyncio.gather(
        owner_with_everything(stack, databases),
        onboarded(stack, random.randint(10**7, 10**8)),
        signed_in_athlete(stack, firstname="Noe", lastname="Phone"),
        operators(stack),
    )
    targets = {
        "number": "1",
        "provider": "garmin",
        "user_id": lost_phone.user_id,
        "template_id": f"no-such-template-{uuid.uuid4().hex[:8]}",
        "job_id": "audit.no-such-job",
        "dead_letter_id": str(uuid.uuid4()),
        "strava_grant_id": f"sg_{uuid.uuid4().hex[:20]}",
    }
    return World(owner, stranger, lost_phone, admins, ids, targets)


# -- tokens nobody was given ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    parts = (json.dumps(header).encode(), json.dumps(claims).encode())
    return ".".join([*(_b64(part) for part in parts), _b64(signature)])


async def relay_signing_key(databases: Databases) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """Identity's newest signing key, opened as identity opens it: only to sign what identity never
    would (an expired token), so that the expiry check alone is what refuses it."""
    [row] = await databases.fetch(
        "identity", "SELECT kid, private_key_sealed FROM signing_keys ORDER BY created_at DESC LIMIT 1"
    )
    pem = Keyring.parse(DEV_SECRETS_KEYS).open(row["private_key_sealed"], context=f"signing-key:{row['kid']}")
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return row["kid"], key


async def tokens_nobody_was_given(databases: Databases, genuine: str) -> dict[str, str]:
    """Variations of a genuine token (an athlete's access token or an operator's session) that must
    all be refused: each says why."""
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid, relay_key = await relay_signing_key(databases)
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    expired = {**claims, "iat": now - 3600, "exp": now - 600}
    return {
        "malformed": "not-a-token",
        "truncated": genuine[: len(genuine) // 2],
        "unsigned (alg none)": _unsigned({"alg": "none", "typ": "JWT"}, claims),
        "HMAC with the public key": _unsigned({"alg": "HS256", "kid": header["kid"]}, claims, b"x" * 32),
        "forged under Relay's key id": jwt.encode(claims, stranger_key, "ES256", headers={"kid": kid}),
        "signed by an unknown key": jwt.encode(claims, stranger_key, "ES256", headers={"kid": "attacker"}),
        "expired, signed by Relay": jwt.encode(expired, relay_key, "ES256", headers={"kid": kid}),
    }
