"""A PostgreSQL cluster of a test's own, on this machine: initialised in a directory of the test's, on
a port of its own, with the roles `deploy/local/postgres.sh` creates (`relay` and one `relay_<service>`
per service, each password its name). A test may stop it hard and start it again without touching the
shared cluster every other test uses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

PG_BIN = Path(os.environ.get("RELAY_PG_BIN", "/usr/lib/postgresql/15/bin"))

HBA = """\
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256
"""


class LocalPostgres:
    """The cluster's data, socket and log live in `directory`; clients reach it on 127.0.0.1:`port`.

    Run as root, PostgreSQL (which refuses root) runs as the `postgres` OS user, as in
    `deploy/local/postgres.sh`: `directory` then needs parents that user can traverse."""

    def __init__(
        self, directory: Path, port: int, *, services: Sequence[str] = (), bin_dir: Path = PG_BIN
    ) -> None:
        if not all(re.fullmatch(r"[a-z][a-z0-9_]*", service) for service in services):
            raise ValueError(f"invalid service names: {services}")
        self.directory = directory
        self.port = port
        self.services = tuple(services)
        self.bin_dir = bin_dir
        self.data = directory / "data"
        self.socket_dir = directory / "socket"
        self.log = directory / "postgres.log"

    @property
    def admin_dsn(self) -> str:
        """The `relay` role (LOGIN CREATEDB CREATEROLE), as on the shared cluster."""
        return f"postgresql://relay:relay@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60.0) -> None:
        """Initialises the cluster on first start (with its roles), then starts it and waits until it
        accepts connections."""
        first = not (self.data / "PG_VERSION").exists()
        if first:
            self._initdb()
        self._pg_ctl("-l", str(self.log), "-w", "-t", str(int(timeout)), "start")
        if first:
            self._create_roles()

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """`immediate` is a crash: no checkpoint, connections dropped; the next start recovers from
        the write-ahead log."""
        if self.running():
            self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        status = subprocess.run(  # noqa: S603 - PostgreSQL's own tools
            self._as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def wait_stopped(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on port {self.port} still running after {timeout:.0f}s")
            time.sleep(0.2)

    def close(self) -> None:
        """Stops the cluster at once and deletes its directory."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------
    @staticmethod
    def _as_postgres(*command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str, stdin: str | None = None) -> None:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools
            self._as_postgres(*command), input=stdin, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed: {done.stderr or done.stdout}\n{log}")

    def _pg_ctl(self, *arguments: str) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-s", *arguments)

    def _initdb(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self.log.touch()
        if os.geteuid() == 0:
            for path in (self.directory, self.socket_dir, self.log):
                shutil.chown(path, "postgres", "postgres")
        self.directory.chmod(0o700)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        )
        self._run("tee", str(self.data / "pg_hba.conf"), stdin=HBA)
        settings = (
            "\n# Relay: a test's own cluster\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "max_connections = 300\n"
            "password_encryption = 'scram-sha-256'\n"
        )
        self._run("tee", "-a", str(self.data / "postgresql.conf"), stdin=settings)

    def _create_roles(self) -> None:
        sql = "CREATE ROLE relay WITH LOGIN CREATEDB CREATEROLE PASSWORD 'relay';\n"
        for service in self.services:
            role = f"relay_{service}"
            sql += f"CREATE ROLE {role} WITH LOGIN PASSWORD '{role}';\nGRANT {role} TO relay;\n"
        self._run(
            str(self.bin_dir / "psql"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            stdin=sql,
        )
