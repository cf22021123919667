"""A whole Relay stack on this machine: the services as processes (each with its own database, port
and log file), the gateway in front of them, on the infrastructure started by `deploy/local/up.sh`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from relay_platform.messaging import delete_topics, ensure_topics

SERVICES: tuple[str, ...] = ("identity", "connections", "ingestion", "planning", "export", "audit")
ROOT = Path(__file__).resolve().parents[4]

# Development-only secrets of a local stack. Their `dev-` key ids make the services refuse them in any
# other environment (relay_platform.config.is_placeholder).
DEV_SECRETS_KEYS = "dev-local:cmVsYXktbG9jYWwtZGV2ZWxvcG1lbnQta2V5LTAwMDE="
DEV_TOKEN_KEYS = "dev-local:cmVsYXktbG9jYWwtY29ubmVjdGlvbnMta2V5LTAwMDE="  # noqa: S105 - development only, see above
DEV_INTERNAL_TOKEN = "dev-internal-token"  # noqa: S105 - development only, see above
DEV_REDIRECT_URI_PREFIXES = '["relay://", "http://localhost", "http://127.0.0.1"]'
FAKE_STRAVA_CLIENT_ID = "12345"
FAKE_STRAVA_CLIENT_SECRET = "dev-strava-client-secret"  # noqa: S105 - the local fake's, see above
FAKE_PROVIDERS_CLIENT_ID = "relay-dev"
FAKE_PROVIDERS_CLIENT_SECRET = "dev-providers-client-secret"  # noqa: S105 - the local fake's, see above
DEV_INGESTION_INTERNAL_TOKEN = "dev-ingestion-internal-token"  # noqa: S105 - local stack only
DEV_EXPORT_INTERNAL_TOKEN = "dev-export-internal-token"  # noqa: S105 - local stack only
DEV_INTERNAL_CALLERS = f"ingestion:{DEV_INGESTION_INTERNAL_TOKEN},export:{DEV_EXPORT_INTERNAL_TOKEN}"
DEV_WEBHOOK_SECRET = "dev-webhook-secret"  # noqa: S105 - local stack only
"""Polar's signature key, Wahoo's webhook token, Oura's and Fitbit's verification codes on a local stack."""


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class StackConfig:
    """Where everything is. The defaults are the local development stack of `make dev`."""

    root: Path = ROOT
    home: Path = field(default_factory=lambda: Path(os.environ.get("RELAY_HOME", ROOT / ".relay")))
    pg_host: str = "127.0.0.1"
    pg_port: int = field(default_factory=lambda: _env_int("RELAY_PG_PORT", 15432))
    kafka_bootstrap: str = field(default_factory=lambda: f"127.0.0.1:{_env_int('RELAY_KAFKA_PORT', 19092)}")
    redis_url: str = field(
        default_factory=lambda: f"redis://127.0.0.1:{_env_int('RELAY_REDIS_PORT', 16379)}/0"
    )
    gateway_port: int = field(default_factory=lambda: _env_int("RELAY_GATEWAY_PORT", 8080))
    fake_strava_port: int = field(default_factory=lambda: _env_int("RELAY_FAKE_STRAVA_PORT", 8190))
    fake_providers_port: int = field(default_factory=lambda: _env_int("RELAY_FAKE_PROVIDERS_PORT", 8191))
    gateway_dir: Path | None = None
    service_ports: dict[str, int] = field(
        default_factory=lambda: {
            name: _env_int(f"RELAY_{name.upper()}_PORT", 8101 + i) for i, name in enumerate(SERVICES)
        }
    )
    database_suffix: str = ""
    topic_prefix: str = ""
    environment: str = "development"
    extra_env: dict[str, str] = field(default_factory=dict)
    fake_strava_options: list[str] = field(default_factory=list)
    """More command-line options of the fake Strava, e.g. `--read-rate-limit 100000,1000000`."""

    def database(self, service: str) -> str:
        return f"relay_{service}{self.database_suffix}"

    def database_url(self, service: str) -> str:
        role = f"relay_{service}"
        # Development-only credentials of the local cluster (deploy/local/postgres.sh).
        return f"postgresql+asyncpg://{role}:{role}@{self.pg_host}:{self.pg_port}/{self.database(service)}"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://relay:relay@{self.pg_host}:{self.pg_port}/postgres"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[service]}"

    @property
    def uses_fake_strava(self) -> bool:
        """Without Strava credentials of its own (RELAY_STRAVA_CLIENT_ID/SECRET), a local stack signs
        athletes in against the local fake of Strava's OAuth endpoints."""
        return not os.environ.get("RELAY_STRAVA_CLIENT_ID")

    @property
    def fake_strava_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_strava_port}"

    @property
    def uses_fake_providers(self) -> bool:
        """Without RELAY_REAL_PROVIDERS=1, a local stack links Garmin, COROS, Polar, Oura, WHOOP, Fitbit
        and Wahoo against the local fake of their OAuth endpoints (real ones need CONNECTIONS_<P>__*)."""
        return os.environ.get("RELAY_REAL_PROVIDERS") != "1"

    @property
    def fake_providers_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_providers_port}"

    def _strava_env(self) -> dict[str, str]:
        if not self.uses_fake_strava:
            return {
                "IDENTITY_STRAVA_CLIENT_ID": os.environ["RELAY_STRAVA_CLIENT_ID"],
                "IDENTITY_STRAVA_CLIENT_SECRET": os.environ.get("RELAY_STRAVA_CLIENT_SECRET", ""),
                "CONNECTIONS_STRAVA__CLIENT_ID": os.environ["RELAY_STRAVA_CLIENT_ID"],
                "CONNECTIONS_STRAVA__CLIENT_SECRET": os.environ.get("RELAY_STRAVA_CLIENT_SECRET", ""),
            }
        fake = self.fake_strava_url
        return {
            "IDENTITY_STRAVA_CLIENT_ID": FAKE_STRAVA_CLIENT_ID,
            "IDENTITY_STRAVA_CLIENT_SECRET": FAKE_STRAVA_CLIENT_SECRET,
            "IDENTITY_STRAVA_AUTHORIZE_URL": f"{fake}/oauth/authorize",
            "IDENTITY_STRAVA_TOKEN_URL": f"{fake}/oauth/token",
            "CONNECTIONS_STRAVA__CLIENT_ID": FAKE_STRAVA_CLIENT_ID,
            "CONNECTIONS_STRAVA__CLIENT_SECRET": FAKE_STRAVA_CLIENT_SECRET,
            "CONNECTIONS_STRAVA__AUTHORIZE_URL": f"{fake}/oauth/authorize",
            "CONNECTIONS_STRAVA__TOKEN_URL": f"{fake}/oauth/token",
            "CONNECTIONS_STRAVA__REVOKE_URL": f"{fake}/oauth/deauthorize",
            "CONNECTIONS_STRAVA__API_URL": f"{fake}/api/v3",
            "INGESTION_STRAVA__API_URL": f"{fake}/api/v3",
        }

    def _providers_env(self) -> dict[str, str]:
        if not self.uses_fake_providers:
            return {}
        # Imported here: only a stack that runs the fake needs to know its URLs.
        from relay_testing.fakes.providers.dialects import PROVIDERS, provider_urls, settings_env

        env = settings_env(
            self.fake_providers_url,
            prefix="CONNECTIONS_",
            client_id=FAKE_PROVIDERS_CLIENT_ID,
            client_secret=FAKE_PROVIDERS_CLIENT_SECRET,
        )
        # Ingestion reads the same fake: its data APIs, and webhooks signed with the application's secret.
        for provider in PROVIDERS:
            key = f"INGESTION_{provider.upper()}__"
            env[f"{key}API_URL"] = provider_urls(self.fake_providers_url, provider)["api_url"]
            env[f"{key}CLIENT_ID"] = FAKE_PROVIDERS_CLIENT_ID
            env[f"{key}CLIENT_SECRET"] = FAKE_PROVIDERS_CLIENT_SECRET
        for name in (
            "POLAR__WEBHOOK_SECRET",
            "WAHOO__WEBHOOK_SECRET",
            "OURA__VERIFY_TOKEN",
            "FITBIT__VERIFY_TOKEN",
        ):
            env[f"INGESTION_{name}"] = DEV_WEBHOOK_SECRET
        # Export pushes workouts to the same fake's Garmin workout service and COROS Training Hub.
        env["EXPORT_GARMIN_WORKOUT_API_URL"] = f"{self.fake_providers_url}/garmin"
        env["EXPORT_COROS_HUB_API_URL"] = f"{self.fake_providers_url}/coros-hub"
        return env

    def service_env(self, service: str) -> dict[str, str]:
        prefix = service.upper()
        env = {
            f"{prefix}_ENVIRONMENT": self.environment,
            f"{prefix}_HTTP_PORT": str(self.service_ports[service]),
            f"{prefix}_DATABASE_URL": self.database_url(service),
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            f"{prefix}_KAFKA_TOPIC_PREFIX": self.topic_prefix,
            f"{prefix}_REDIS_URL": self.redis_url,
            f"{prefix}_AUTH_JWKS_URL": f"{self.service_url('identity')}/.well-known/jwks.json",
            "IDENTITY_SECRETS_KEYS": DEV_SECRETS_KEYS,
            "IDENTITY_INTERNAL_API_TOKEN": DEV_INTERNAL_TOKEN,
            "IDENTITY_REDIRECT_URI_PREFIXES": DEV_REDIRECT_URI_PREFIXES,
            **self._strava_env(),
            "CONNECTIONS_IDENTITY_URL": self.service_url("identity"),
            "CONNECTIONS_IDENTITY_INTERNAL_TOKEN": DEV_INTERNAL_TOKEN,
            "CONNECTIONS_TOKEN_KEYS": DEV_TOKEN_KEYS,
            "CONNECTIONS_INTERNAL_CALLERS": DEV_INTERNAL_CALLERS,
            "CONNECTIONS_PUBLIC_URL": self.gateway_url,
            "CONNECTIONS_APP_REDIRECT_URI_PREFIXES": DEV_REDIRECT_URI_PREFIXES,
            **self._providers_env(),
            "INGESTION_STRAVA_VERIFY_TOKEN": os.environ.get(
                "INGESTION_STRAVA_VERIFY_TOKEN", "relay-local-verify"
            ),
            "INGESTION_CONNECTIONS_URL": self.service_url("connections"),
            "INGESTION_CONNECTIONS_TOKEN": DEV_INGESTION_INTERNAL_TOKEN,
            "EXPORT_CONNECTIONS_URL": self.service_url("connections"),
            "EXPORT_CONNECTIONS_TOKEN": DEV_EXPORT_INTERNAL_TOKEN,
        }
        mine = {
            name: value for name, value in {**env, **self.extra_env}.items() if name.startswith(f"{prefix}_")
        }
        return mine


class Stack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = self.config.home / "logs"

    # -- databases and topics ------------------------------------------------------------------
    async def create_databases(self, *, fresh: bool) -> None:
        """Creates each service's database (dropping it first when `fresh`), owned by its role."""
        connection = await asyncpg.connect(self.config.admin_dsn)
        try:
            for service in SERVICES:
                name = self.config.database(service)
                if fresh:
                    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
                if not exists:
                    await connection.execute(f'CREATE DATABASE "{name}" OWNER "relay_{service}"')
        finally:
            await connection.close()

    async def drop_databases(self) -> None:
        if not self.config.database_suffix:
            raise ValueError("refusing to drop the development databases")
        connection = await asyncpg.connect(self.config.admin_dsn)
        try:
            for service in SERVICES:
                await connection.execute(
                    f'DROP DATABASE IF EXISTS "{self.config.database(service)}" WITH (FORCE)'
                )
        finally:
            await connection.close()

    def migrate(self) -> None:
        """Upgrades every service's database to its latest migration; the six run side by side."""
        processes = {
            service: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "alembic",
                    "-c",
                    str(self.config.root / "services" / service / "alembic.ini"),
                    "upgrade",
                    "head",
                ],
                env={**os.environ, **self.config.service_env(service)},
                cwd=self.config.root,
                stderr=subprocess.PIPE,
            )
            for service in SERVICES
        }
        failed = {}
        for service, process in processes.items():
            _, stderr = process.communicate()
            if process.returncode != 0:
                failed[service] = stderr.decode(errors="replace")[-2000:]
        if failed:
            raise RuntimeError("migrations failed: " + "; ".join(f"{s}: {e}" for s, e in failed.items()))

    async def ensure_topics(self) -> list[str]:
        return await ensure_topics(self.config.kafka_bootstrap, prefix=self.config.topic_prefix)

    async def delete_topics(self) -> None:
        await delete_topics(self.config.kafka_bootstrap, prefix=self.config.topic_prefix)

    @contextlib.contextmanager
    def running(self) -> Iterator[Stack]:
        """A throw-away stack (tests, benchmarks): fresh, migrated databases and its own topics, every
        service ready behind its gateway; all of it stopped, dropped and deleted afterwards."""
        asyncio.run(self.create_databases(fresh=True))
        self.migrate()
        asyncio.run(self.ensure_topics())
        try:
            self.start_all()
            asyncio.run(self.wait_ready())
            self.start_gateway()
            yield self
        finally:
            self.stop_all()
            self.stop_gateway()
            asyncio.run(self.delete_topics())
            asyncio.run(self.drop_databases())

    # -- services ------------------------------------------------------------------------------
    def start(self, service: str) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{service}{self.config.database_suffix}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", service],
            env={**os.environ, **self.config.service_env(service)},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.config.root,
            start_new_session=True,
        )

    def start_all(self) -> None:
        self.start_fake_strava()
        self.start_fake_providers()
        for service in SERVICES:
            self.start(service)

    def start_fake_strava(self) -> None:
        """The local fake of Strava's OAuth endpoints, when no Strava application is configured."""
        if self.config.uses_fake_strava:
            self._start_fake(
                "fake-strava",
                self.config.fake_strava_port,
                FAKE_STRAVA_CLIENT_ID,
                FAKE_STRAVA_CLIENT_SECRET,
                *self.config.fake_strava_options,
            )

    def start_fake_providers(self) -> None:
        """The local fake of the other providers' OAuth endpoints, unless real ones are configured."""
        if self.config.uses_fake_providers:
            self._start_fake(
                "fake-providers",
                self.config.fake_providers_port,
                FAKE_PROVIDERS_CLIENT_ID,
                FAKE_PROVIDERS_CLIENT_SECRET,
            )

    def _start_fake(self, name: str, port: int, client_id: str, client_secret: str, *options: str) -> None:
        """`relay_testing.fakes.<strava|providers>` as a process, with the stack's client credentials."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}{self.config.database_suffix}.log").open("ab")
        module = f"relay_testing.fakes.{name.removeprefix('fake-')}"
        self.processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--port",
                str(port),
                "--client-id",
                client_id,
                "--client-secret",
                client_secret,
                *options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.config.root,
            start_new_session=True,
        )

    async def wait_ready(self, services: tuple[str, ...] = SERVICES, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            for service in services:
                while True:
                    process = self.processes.get(service)
                    if process is not None and process.poll() is not None:
                        raise RuntimeError(
                            f"{service} exited with {process.returncode}; see {self.logs / f'{service}.log'}"
                        )
                    try:
                        if (
                            await client.get(f"{self.config.service_url(service)}/readyz")
                        ).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{service} not ready after {timeout:.0f}s")
                    await asyncio.sleep(0.2)

    def kill(self, service: str, sig: signal.Signals = signal.SIGKILL) -> None:
        process = self.processes[service]
        process.send_signal(sig)
        process.wait(timeout=30)

    def stop(self, service: str, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        process = self.processes.pop(service, None)
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.terminate()
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop_all(self) -> None:
        for service in reversed(list(self.processes)):
            self.stop(service)

    # -- gateway -------------------------------------------------------------------------------
    def _gateway(self, command: str) -> None:
        env = {
            **os.environ,
            "RELAY_GATEWAY_PORT": str(self.config.gateway_port),
            **{f"RELAY_{name.upper()}_PORT": str(port) for name, port in self.config.service_ports.items()},
        }
        if self.config.gateway_dir is not None:
            env["RELAY_GATEWAY_DIR"] = str(self.config.gateway_dir)
        subprocess.run(
            ["bash", str(self.config.root / "deploy/local/gateway.sh"), command], env=env, check=True
        )

    def start_gateway(self) -> None:
        self._gateway("start")

    def stop_gateway(self) -> None:
        self._gateway("stop")
