"""After every other test of the session (this module runs last), no secret is kept in plaintext anywhere
the end-to-end stack keeps things: not in a row of any table of its six databases (nor of the other
`relay_*` databases of the cluster: the development stack's and those integration tests left), not in
a record of any of its Kafka topics (read from the beginning), not in a line of its logs (its services',
its fakes', its gateway's, and the rest of the local `.relay/logs` but other stacks' files).

Looked for: every token the fake providers issued and every Strava token the fake Strava was shown,
Strava's tokens by their format (40 hex digits), JWTs (Relay's access and admin tokens), Relay's refresh
tokens (`rt_…`) and API keys (`qt_…`) by their format, the admin passwords of the tests (a wrong one
too), a COROS Training Hub password and its MD5 (what COROS takes), the providers' client secrets and
the stack's internal tokens, webhook secrets and sealing keys. Hashes and ciphertexts of them are fine.

The module first drives every path where such a secret crosses Relay (a Strava sign-in with a refresh
and a replayed refresh token, an API key and its use, an admin's sign-in and a failed one, a COROS
Training Hub password, a Garmin link, a token handout), then proves the scan can fail: it plants a
fresh sign-in's tokens, an API key and known secrets in a table, a topic and a log file of its own and
finds each of them exactly there. The plants are removed, and the scan finds nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from relay_devstack import Stack
from relay_devstack.stack import (
    DEV_EXPORT_INTERNAL_TOKEN,
    DEV_INGESTION_INTERNAL_TOKEN,
    DEV_INTERNAL_TOKEN,
    DEV_SECRETS_KEYS,
    DEV_TOKEN_KEYS,
    DEV_WEBHOOK_SECRET,
    FAKE_PROVIDERS_CLIENT_ID,
    FAKE_PROVIDERS_CLIENT_SECRET,
    FAKE_STRAVA_CLIENT_ID,
    FAKE_STRAVA_CLIENT_SECRET,
)

from .conftest import create_super_admin, device_client
from .secrets_scan import (
    API_KEY,
    JWT,
    REFRESH_TOKEN,
    Finding,
    Scanned,
    Scanner,
    databases_to_scan,
    log_files,
    scan_database,
    scan_logs,
    scan_topics,
)
from .test_audit import PASSWORD as AUDIT_ADMIN_PASSWORD
from .test_connections import bearer, connections_of, ingestion_token
from .test_export import fake_providers
from .test_identity import eventually, sign_in
from .test_ingestion import strava_of

CANARY = "secrets-scan-canary"


# -- the secrets of the session -------------------------------------------------------------------------
def configured_secrets(stack: Stack) -> dict[str, str]:
    """The stack's own secrets (relay_devstack's development ones), as plaintext → what it is."""
    found = {
        FAKE_STRAVA_CLIENT_SECRET: "Strava's client secret",
        FAKE_PROVIDERS_CLIENT_SECRET: "the providers' client secret",
        DEV_WEBHOOK_SECRET: "a webhook secret (Polar, Wahoo) or verification code (Oura, Fitbit)",
        stack.config.service_env("ingestion")["INGESTION_STRAVA_VERIFY_TOKEN"]: "Strava's verify token",
        DEV_INTERNAL_TOKEN: "identity's internal API token",
        DEV_INGESTION_INTERNAL_TOKEN: "ingestion's token at connections",
        DEV_EXPORT_INTERNAL_TOKEN: "export's token at connections",
        AUDIT_ADMIN_PASSWORD: "an admin's password (test_audit)",
    }
    for client_id, secret in (
        (FAKE_STRAVA_CLIENT_ID, FAKE_STRAVA_CLIENT_SECRET),
        (FAKE_PROVIDERS_CLIENT_ID, FAKE_PROVIDERS_CLIENT_SECRET),
    ):
        found[base64.b64encode(f"{client_id}:{secret}".encode()).decode()] = "client credentials (Basic)"
    for keyring, what in ((DEV_SECRETS_KEYS, "identity's"), (DEV_TOKEN_KEYS, "connections'")):
        for entry in keyring.split(","):
            key = entry.split(":", 1)[1]
            found[key] = f"{what} sealing key"
            found[base64.b64decode(key).decode()] = f"{what} sealing key (decoded)"
    return found


async def issued_by_the_fakes(stack: Stack) -> dict[str, str]:
    """What the fakes handed out or were shown during the session: every token the fake providers issued,
    the COROS Training Hub passwords they received (MD5, as COROS takes them), and the Strava tokens Relay
    presented to the fake Strava."""
    providers = fake_providers(stack)
    found = {token: "a provider's token" for token in await providers.issued_tokens()}
    for login in await providers.received("coros-hub", "/account/login"):
        found[login.fields.get("pwd", "")] = "a COROS Training Hub password (MD5)"
    for request in await strava_of(stack).received():
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            found[token] = "a Strava access token"
        for name in ("access_token", "refresh_token"):
            if name in request.fields:
                found[request.fields[name]] = f"a Strava {name.replace('_', ' ')}"
    return found


# -- driving the paths secrets take ---------------------------------------------------------------------
async def an_api_key_in_use(gateway: httpx.AsyncClient, token: str) -> str:
    created = await gateway.post("/api/auth/api-keys", headers=bearer(token), json={"name": "Scan"})
    assert created.status_code in (200, 201), created.text
    key: str = created.json()["key"]

    async def uploaded() -> bool:
        # Ingestion learns of the key through Kafka.
        upload = await gateway.post(
            "/api/webhooks/ingest", headers={"X-API-Key": key}, json={"data": {"workouts": [], "metrics": []}}
        )
        return upload.status_code == 202

    assert await eventually(uploaded, timeout=30), "the API key never worked"
    return key


async def link_garmin(gateway: httpx.AsyncClient, stack: Stack, token: str) -> None:
    started = await gateway.post(
        "/api/providers/garmin/connect",
        json={"redirect_uri": "relay://relay.app/connections"},
        headers=bearer(token),
    )
    assert started.status_code == 200, started.text
    back = await fake_providers(stack).authorize("garmin", started.json()["authorization_url"])
    callback = await gateway.get("/api/providers/garmin/callback", params=dict(back.params))
    assert callback.status_code == 302, callback.text


async def an_athletes_secrets(stack: Stack) -> dict[str, str]:
    """An athlete signs in with Strava, refreshes (and replays the used refresh token), uses an API key,
    links COROS Training Hub with a password and Garmin through its authorization page, and ingestion
    obtains their Strava token on the internal route."""
    secrets: dict[str, str] = {}
    async with device_client(stack) as gateway:
        athlete_id = random.randint(10**7, 10**8)
        signed_in = await sign_in(gateway, stack, athlete_id, firstname="Sam", lastname="Scan")
        used = signed_in["refresh_token"]
        secrets |= {signed_in["token"]: "Relay's access token", used: "Relay's refresh token"}
        refreshed = await gateway.post("/api/auth/refresh", json={"refresh_token": used})
        replayed = await gateway.post("/api/auth/refresh", json={"refresh_token": used})
        assert (refreshed.status_code, replayed.status_code) == (200, 401), (refreshed.text, replayed.text)
        secrets |= {refreshed.json()["token"]: "Relay's access token"}
        # The replay revoked the session: a new one.
        signed_in = await sign_in(gateway, stack, athlete_id)
        token = signed_in["token"]
        secrets |= {token: "Relay's access token", signed_in["refresh_token"]: "Relay's refresh token"}
        secrets[await an_api_key_in_use(gateway, token)] = "Relay's API key"

        email, password = f"scan.{athlete_id}@example.com", f"coros-{uuid.uuid4().hex}"
        await fake_providers(stack).add_coros_account(email, password)
        hub = await gateway.post(
            "/api/providers/coros_training_hub/login",
            json={"email": email, "password": password},
            headers=bearer(token),
        )
        assert hub.status_code == 200, hub.text
        secrets[password] = "a COROS Training Hub password"
        md5 = hashlib.md5(password.encode()).hexdigest()  # noqa: S324 - what COROS takes
        secrets[md5] = "a COROS Training Hub password (MD5)"
        await link_garmin(gateway, stack, token)

        async def linked() -> bool:
            providers = {c["provider"] for c in await connections_of(gateway, token)}
            return {"strava", "garmin", "coros_training_hub", "health_bridge"} <= providers

        assert await eventually(linked), await connections_of(gateway, token)
    request = {"provider": "strava", "user_id": signed_in["user"]["id"], "purpose": "fetch_activity"}
    async with httpx.AsyncClient(base_url=stack.config.service_url("connections")) as internal:
        handed = await internal.post(
            "/internal/access-tokens", json=request, headers=bearer(ingestion_token())
        )
    assert handed.status_code == 200, handed.text
    secrets[handed.json()["access_token"]] = "a Strava access token"
    return secrets


async def an_admins_secrets(stack: Stack) -> dict[str, str]:
    """An admin created with identity's command signs in, after mistyping their password."""
    email, password = f"scan-{uuid.uuid4().hex[:8]}@relay.example", f"admin-{uuid.uuid4().hex}"
    mistyped = f"wrong-{uuid.uuid4().hex}"
    await create_super_admin(stack, email, password, "Scan")
    async with device_client(stack) as gateway:
        failed = await gateway.post("/api/admin/auth/login", json={"email": email, "password": mistyped})
        login = await gateway.post("/api/admin/auth/login", json={"email": email, "password": password})
        assert (failed.status_code, login.status_code) == (401, 200), (failed.text, login.text)
        session = gateway.cookies["admin_session"]
    return {
        password: "an admin's password",
        mistyped: "an admin's mistyped password",
        session: "an admin session token",
    }


@pytest.fixture(scope="module")
async def driven(stack: Stack) -> dict[str, str]:
    """Every path where a secret crosses Relay, once: the secrets used, as plaintext → what it is."""
    athlete, admin = await asyncio.gather(an_athletes_secrets(stack), an_admins_secrets(stack))
    return {**athlete, **admin}


# -- the scan -------------------------------------------------------------------------------------------
@dataclass
class Scan:
    databases: Scanned
    topics: Scanned
    logs: Scanned

    @property
    def findings(self) -> list[Finding]:
        return [*self.databases.findings, *self.topics.findings, *self.logs.findings]


async def scan(stack: Stack, driven: dict[str, str]) -> Scan:
    scanner = Scanner({**configured_secrets(stack), **await issued_by_the_fakes(stack), **driven})
    databases = Scanned()
    for scanned in await asyncio.gather(
        *(scan_database(database, scanner) for database in await databases_to_scan(stack))
    ):
        databases.findings += scanned.findings
        databases.places += scanned.places
        databases.items += scanned.items
    topics = await scan_topics(stack.config.kafka_bootstrap, stack.config.topic_prefix, scanner)
    logs = await asyncio.to_thread(scan_logs, log_files(stack), scanner)
    return Scan(databases, topics, logs)


@dataclass
class Planted:
    secrets: dict[str, str]
    table: str
    topic: str
    log: Path


@pytest.fixture
async def planted(stack: Stack, driven: dict[str, str]) -> AsyncIterator[Planted]:
    """A fresh sign-in's tokens and API key (known to the scan by their format only), an admin's password
    and a provider's token (known as plaintexts), in a table, a topic and a log file made for them; all
    removed afterwards."""
    async with device_client(stack) as gateway:
        signed_in = await sign_in(gateway, stack, random.randint(10**7, 10**8))
        created = await gateway.post(
            "/api/auth/api-keys", headers=bearer(signed_in["token"]), json={"name": "Canary"}
        )
        assert created.status_code in (200, 201), created.text
    admin_password = next(value for value, what in driven.items() if what == "an admin's password")
    # Each as the scan should name it.
    secrets = {
        signed_in["token"]: JWT,
        signed_in["refresh_token"]: REFRESH_TOKEN,
        created.json()["key"]: API_KEY,
        admin_password: "an admin's password",
        (await fake_providers(stack).issued_tokens())[-1]: "a provider's token",
    }
    line = " ".join(f"{what}: {secret}" for secret, what in secrets.items())
    database = stack.config.database_url("identity").replace("postgresql+asyncpg://", "postgresql://")
    topic = f"{stack.config.topic_prefix}{CANARY}"
    log = stack.logs / f"{CANARY}{stack.config.database_suffix}.log"
    connection = await asyncpg.connect(database)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.config.kafka_bootstrap)
    await admin.start()
    try:
        await connection.execute(f'CREATE TABLE "{CANARY}" (note text)')
        await connection.execute(f'INSERT INTO "{CANARY}" VALUES ($1)', line)  # noqa: S608 - a constant
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=stack.config.kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, line.encode(), key=CANARY.encode())
        finally:
            await producer.stop()
        log.write_text(f'{{"event": "{CANARY}", "note": "{line}"}}\n')
        yield Planted(secrets, f"{stack.config.database('identity')}, table public.{CANARY}", topic, log)
    finally:
        await connection.execute(f'DROP TABLE IF EXISTS "{CANARY}"')
        await connection.close()
        log.unlink(missing_ok=True)
        if topic in await admin.list_topics():
            await admin.delete_topics([topic])

        async def topic_gone() -> bool:
            return topic not in await admin.list_topics()

        gone = await eventually(topic_gone, timeout=30)
        await admin.close()
        assert gone, f"{topic} was not deleted"


async def test_the_scan_finds_each_secret_planted_in_a_table_a_topic_and_a_log(
    stack: Stack, driven: dict[str, str], planted: Planted
) -> None:
    found = await scan(stack, driven)

    places = {
        f"database {planted.table}": found.databases,
        f"topic {planted.topic}": found.topics,
        f"log {planted.log}": found.logs,
    }
    for where, scanned in places.items():
        at_the_plant = {
            finding.secret: finding.kind for finding in scanned.findings if finding.where == where
        }
        assert at_the_plant == planted.secrets, where


async def test_no_database_topic_or_log_of_the_stack_holds_a_secret_in_plaintext(
    stack: Stack, driven: dict[str, str]
) -> None:
    found = await scan(stack, driven)

    assert found.databases.items > 0 and found.topics.items > 0 and found.logs.items > 0
    assert not found.findings, "\n".join(str(finding) for finding in found.findings)
