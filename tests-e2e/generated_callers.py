"""Who sends the generated requests of `test_schemathesis.py`: athletes signed in against the fake
Strava, a super_admin's sessions, the bridge app with an athlete's API key, and callers with no
credential. Each caller is a device of its own (its own 127.x.y.z address) and is replaced once an
answer says that one of its rate limits of the minute is nearly spent, so generated load never meets a
429 however many requests an operation gets."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from schemathesis import Case, Response

from relay_devstack import Stack

from .conftest import device_client
from .test_audit import PASSWORD
from .test_identity import sign_in

RESERVE = 3
"""Requests a caller keeps unspent in each of its rate limits: it is replaced before the last of them."""

THROWAWAY_ATHLETE = frozenset({("DELETE", "/api/auth/me"), ("POST", "/api/auth/logout")})
THROWAWAY_ADMIN = frozenset({("POST", "/api/admin/auth/logout")})
ANONYMOUS_EVERY = 4
"""One request in this many of each operation is sent without any credential."""


class _BoundAdapter(HTTPAdapter):
    """Connections from one local address."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, source_address=(self._address, 0), **kwargs)


def device_session() -> requests.Session:
    """A client from an address of its own, as a distinct device on the internet would be."""
    octets = uuid.uuid4().bytes[:3]
    session = requests.Session()
    session.mount("http://", _BoundAdapter(f"127.{octets[0]}.{octets[1]}.{max(octets[2], 2)}"))
    return session


@dataclass
class Caller:
    """A device and the credentials it sends with every request."""

    session: requests.Session
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    spent: bool = False

    @property
    def credentials(self) -> list[str]:
        """What identifies the caller: a bearer token, an admin session, an API key."""
        sent = [name for name in ("Authorization", "X-API-Key") if name in self.headers]
        return sent + list(self.cookies)

    def headers_for(self, case: Case) -> dict[str, str]:
        """The caller's headers, but for one the generated case sets itself: that one is the case."""
        generated = {name.lower() for name in case.headers or {}}
        return {name: value for name, value in self.headers.items() if name.lower() not in generated}


class Callers:
    """The caller of each generated request: the athlete, the admin or the bridge app its route is for,
    or no one for one request in four; a throwaway caller for an operation that ends its caller."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._url = stack.config.gateway_url
        self._current: dict[str, Caller] = {}
        self._admin_email: str | None = None
        self._api_key: str | None = None
        self._cases: Counter[str] = Counter()
        self._sessions: list[requests.Session] = []

    def __enter__(self) -> Callers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for session in self._sessions:
            session.close()

    def for_case(self, case: Case) -> Caller:
        operation = (case.method.upper(), case.operation.path)
        if operation in THROWAWAY_ATHLETE:
            return self._athlete()
        if operation in THROWAWAY_ADMIN:
            return self._admin()
        self._cases[case.operation.label] += 1
        if self._cases[case.operation.label] % ANONYMOUS_EVERY == 0:
            return self._reused("anonymous")
        if case.operation.path.startswith("/api/admin/") and case.operation.path != "/api/admin/auth/login":
            return self._reused("admin")
        if case.operation.path == "/api/webhooks/ingest":
            return self._reused("bridge")
        return self._reused("athlete")

    def answered(self, caller: Caller, response: Response) -> None:
        """Retires a caller whose limit is nearly spent; forgets any cookie an answer set."""
        caller.session.cookies.clear()
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining and int(remaining[0]) <= RESERVE:
            caller.spent = True

    def _reused(self, kind: str) -> Caller:
        caller = self._current.get(kind)
        if caller is None or caller.spent:
            if kind == "athlete":
                caller = self._athlete()
            elif kind == "admin":
                caller = self._admin()
            elif kind == "bridge":
                caller = Caller(self._device(), headers={"X-API-Key": self._bridge_key()})
            else:
                caller = Caller(self._device())
            self._current[kind] = caller
        return caller

    def _device(self) -> requests.Session:
        session = device_session()
        self._sessions.append(session)
        return session

    def _athlete(self) -> Caller:
        async def signed_in() -> str:
            async with device_client(self._stack) as gateway:
                # Not `random`: Hypothesis seeds it for each example, and every athlete must be new.
                body = await sign_in(gateway, self._stack, 10**8 + secrets.randbelow(9 * 10**8))
            token: str = body["token"]
            return token

        token = asyncio.run(signed_in())
        return Caller(self._device(), headers={"Authorization": f"Bearer {token}"})

    def _admin(self) -> Caller:
        session = self._device()
        login = session.post(
            f"{self._url}/api/admin/auth/login",
            json={"email": self._super_admin(), "password": PASSWORD},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        cookie = session.cookies["admin_session"]
        session.cookies.clear()
        return Caller(
            session,
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
            cookies={"admin_session": cookie},
        )

    def _super_admin(self) -> str:
        if self._admin_email is None:
            email = f"generated-{uuid.uuid4().hex[:8]}@relay.example"
            subprocess.run(
                [
                    sys.executable,
                    *("-m", "identity.cli", "create-super-admin", "--email", email, "--name", "Ops"),
                ],
                env={
                    **os.environ,
                    **self._stack.config.service_env("identity"),
                    "RELAY_ADMIN_PASSWORD": PASSWORD,
                },
                check=True,
                capture_output=True,
            )
            self._admin_email = email
        return self._admin_email

    def _bridge_key(self) -> str:
        """An athlete's API key for the bridge app, once ingestion has heard of it (through Kafka)."""
        if self._api_key is None:
            athlete = self._athlete()
            created = athlete.session.post(
                f"{self._url}/api/auth/api-keys",
                headers=athlete.headers,
                json={"name": "Health Auto Export"},
                timeout=30,
            )
            assert created.status_code == 201, created.text
            key: str = created.json()["key"]
            upload = {"data": {"workouts": [], "metrics": []}}
            device, deadline = self._device(), time.monotonic() + 60
            while True:
                answer = device.post(
                    f"{self._url}/api/webhooks/ingest", headers={"X-API-Key": key}, json=upload, timeout=30
                )
                if answer.status_code == 202 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert answer.status_code == 202, answer.text
            self._api_key = key
        return self._api_key
