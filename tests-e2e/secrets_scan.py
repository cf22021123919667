"""Looking for secrets in plaintext wherever a Relay stack keeps things: every table of its PostgreSQL
databases, every record of its Kafka topics, its log files. A secret is looked for as a known plaintext
(what the fakes issued, what a test sent) or by its format (JWTs, Relay's refresh tokens and API keys,
Strava's tokens). Hashes and ciphertexts do not match either."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from relay_devstack import SERVICES, Stack

JWT = "a JWT (Relay's access or admin token)"
REFRESH_TOKEN = "a Relay refresh token"
API_KEY = "a Relay API key"
STRAVA_TOKEN = "a Strava token (40 hex digits)"
FORMATS = {
    JWT: re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}"),
    REFRESH_TOKEN: re.compile(r"(?<![A-Za-z0-9_])rt_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    API_KEY: re.compile(r"(?<![A-Za-z0-9_])qt_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    STRAVA_TOKEN: re.compile(
        r'(?<!"embed_token": ")(?<!"embed_token":")(?<![0-9A-Fa-f])[0-9a-f]{40}(?![0-9A-Fa-f])'
    ),
}
"""What Relay's own secrets and Strava's look like (identity's `rt_`/`qt_` + 32 random bytes in base64url;
Strava's codes and tokens are 40 hex digits, and so is an activity's `embed_token`, which Strava's public
embed widget shows and which opens nothing: it is not taken for a token)."""
RANDOM_ENOUGH = 10
"""Distinct characters a match needs to be taken for a secret: a random secret has them, a placeholder
such as `000…0` (a fuzzer's) has not."""


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    excerpt: str
    """The text around the secret, the secret cut short."""
    secret: str = field(repr=False)

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.excerpt}"


class Scanner:
    """Finds known plaintexts (value → what it is) and secrets of known formats in text."""

    def __init__(
        self, plaintexts: Mapping[str, str], formats: Mapping[str, re.Pattern[str]] = FORMATS
    ) -> None:
        self.plaintexts = {value: kind for value, kind in plaintexts.items() if value}
        self.formats = formats

    def search(self, where: str, text: str) -> list[Finding]:
        found: dict[str, Finding] = {}
        for value, kind in self.plaintexts.items():
            at = text.find(value)
            if at >= 0:
                found[value] = Finding(where, kind, _excerpt(text, at, value), value)
        for kind, pattern in self.formats.items():
            for match in pattern.finditer(text):
                secret = match.group()
                if secret not in found and len(set(secret)) >= RANDOM_ENOUGH:
                    found[secret] = Finding(where, kind, _excerpt(text, match.start(), secret), secret)
        return list(found.values())


def _excerpt(text: str, at: int, secret: str) -> str:
    before = text[max(0, at - 40) : at].replace("\n", " ")
    return f"…{before}{secret[:6]}…({len(secret)} characters)"


@dataclass
class Scanned:
    findings: list[Finding] = field(default_factory=list)
    places: int = 0
    """Tables, topics or files read."""
    items: int = 0
    """Rows, records or lines read."""


# -- PostgreSQL ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Database:
    name: str
    dsn: str
    ours: bool
    """One of the stack's own databases (else it may come and go while it is read)."""


async def databases_to_scan(stack: Stack) -> list[Database]:
    """The stack's databases, and every other `relay_*` database of the cluster but those of other stacks
    (`relay_<service><suffix>`, whose state belongs to concurrent runs): the development databases and
    what integration tests left behind. Each is read as its owner (the local roles' development
    passwords, deploy/local/postgres.sh)."""
    config = stack.config
    ours = {config.database(service) for service in SERVICES}
    another_stack = re.compile(rf"relay_({'|'.join(SERVICES)})_.+")
    admin = await asyncpg.connect(config.admin_dsn)
    try:
        rows = await admin.fetch(
            "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
            "WHERE d.datname LIKE 'relay\\_%' ORDER BY d.datname"
        )
    finally:
        await admin.close()
    found = []
    for name, owner in rows:
        if name not in ours and another_stack.fullmatch(name):
            continue
        if owner == "relay":
            password = "relay"  # the local cluster's development admin (deploy/local)
        elif owner in {f"relay_{service}" for service in SERVICES}:
            password = owner
        else:
            continue
        dsn = f"postgresql://{owner}:{password}@{config.pg_host}:{config.pg_port}/{name}"
        found.append(Database(name, dsn, name in ours))
    missing = ours - {database.name for database in found}
    assert not missing, f"the stack's databases are gone: {missing}"
    return found


GONE = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError, OSError)
"""What reading a database that is being dropped (or migrated) while it is read can run into."""


async def scan_database(database: Database, scanner: Scanner) -> Scanned:
    """Every row of every table the owner can read, each column as text (`bytea` with its printable bytes
    as they are). A database other than the stack's that disappears while it is read counts for what was
    read of it."""
    scanned = Scanned()
    try:
        connection = await asyncpg.connect(database.dsn)
    except GONE:
        if database.ours:
            raise
        return scanned
    try:
        columns = await connection.fetch(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' "
            "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY c.table_schema, c.table_name, c.ordinal_position"
        )
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table, column, data_type in columns:
            quoted = '"' + column.replace('"', '""') + '"'
            as_text = f"encode({quoted}, 'escape')" if data_type == "bytea" else f"{quoted}::text"
            tables.setdefault((schema, table), []).append(as_text)
        for (schema, table), expressions in tables.items():
            query = f'SELECT {", ".join(expressions)} FROM "{schema}"."{table}"'  # noqa: S608 - catalog names
            rows = await connection.fetch(query)
            text = "\n".join("\t".join(value for value in row if value is not None) for row in rows)
            scanned.findings += scanner.search(f"database {database.name}, table {schema}.{table}", text)
            scanned.places += 1
            scanned.items += len(rows)
    except GONE:
        connection.terminate()
        if database.ours:
            raise
        return scanned
    await connection.close()
    return scanned


# -- Kafka --------------------------------------------------------------------------------------------
async def scan_topics(bootstrap: str, prefix: str, scanner: Scanner) -> Scanned:
    """Every record (key, value, headers) of every topic named with the prefix, from the beginning to the
    end it had when the scan began."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(topic for topic in await admin.list_topics() if topic.startswith(prefix))
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    texts: dict[str, list[str]] = {topic: [] for topic in topics}
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        # Read until the polls come back empty and every partition's position is at its end, asked
        # again each time: one answer of the end offsets is not trusted to stop the reading.
        deadline = asyncio.get_running_loop().time() + 120
        quiet = 0
        while asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    parts = [record.key or b"", record.value or b"", *(v for _, v in record.headers)]
                    texts[tp.topic].append(" ".join(part.decode(errors="replace") for part in parts))
            quiet = 0 if batches else quiet + 1
            if quiet >= 2:
                ends = await consumer.end_offsets(partitions)
                if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                    break
    finally:
        await consumer.stop()
    scanned = Scanned(places=len(texts), items=sum(len(records) for records in texts.values()))
    for topic, records in texts.items():
        scanned.findings += scanner.search(f"topic {topic}", "\n".join(records))
    return scanned


# -- logs ---------------------------------------------------------------------------------------------
def log_files(stack: Stack) -> list[Path]:
    """The stack's log files (its services', its fakes', its gateway's) and every other file of the local
    log directory but those of other stacks (`<process><suffix>.log`, written by concurrent runs): the
    infrastructure's (PostgreSQL, Kafka, Redis) and the development stack's."""
    suffix = stack.config.database_suffix
    processes = [*SERVICES, "fake-strava", "fake-providers"]
    another_stack = re.compile(rf"({'|'.join(processes)})(_.+)\.log")
    files = [
        path
        for path in sorted(stack.logs.glob("*.log"))
        if not ((match := another_stack.fullmatch(path.name)) and match.group(2) != suffix)
    ]
    if stack.config.gateway_dir is not None:
        files += [stack.config.gateway_dir / "access.log", stack.config.gateway_dir / "error.log"]
    return [path for path in files if path.exists()]


def scan_logs(files: Iterable[Path], scanner: Scanner) -> Scanned:
    scanned = Scanned()
    for path in files:
        text = path.read_text(errors="replace")
        scanned.findings += scanner.search(f"log {path}", text)
        scanned.places += 1
        scanned.items += text.count("\n")
    return scanned
