"""Operators' commands of the audit service, run where its settings (`AUDIT_*`) are set:

python -m audit.cli verify
    Verifies the trail's hash chain (see `audit.chain`): prints how many entries were checked and the
    head's hash, or the first broken link; exits with 1 when the chain is broken.
python -m audit.cli dead-letters [--status pending|replayed] [--consumer C] [--limit N]
    The messages Relay's consumers gave up on, the most recent failures first.
python -m audit.cli replay <id> [--by NAME]
    Publishes a dead letter again to its original topic, as the back office does (see
    `audit.dead_letters`), recorded as replayed by NAME (by default the user running the command).
    Its `audit.dead_letter.replayed` event is staged in the audit database; the running audit
    service relays it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any

from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit import dead_letters, service
from audit.config import Settings
from audit.models import DeadLetterRecord
from relay_contracts.events.common import Actor
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.errors import AppError
from relay_platform.messaging import create_broker

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url.get_secret_value(), 1)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def _broker(settings: Settings) -> AsyncIterator[KafkaBroker]:
    # A command's spans and metrics go nowhere: the service's own are the ones operators watch.
    broker = create_broker("audit-cli", settings, TracerProvider(), CollectorRegistry())
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def dead_letters_table(records: Sequence[DeadLetterRecord]) -> str:
    rows = [
        (
            str(record.id),
            record.failed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            record.consumer,
            record.event_type or "-",
            f"{record.status} ({record.replays})" if record.replays else record.status,
            record.reason.splitlines()[0][:80] if record.reason else "-",
        )
        for record in records
    ]
    header = ("ID", "FAILED AT (UTC)", "CONSUMER", "EVENT TYPE", "STATUS", "REASON")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in (header, *rows)
    )


async def show_dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as sessionmaker, sessionmaker() as session:
        records, total = await dead_letters.list_dead_letters(
            session, status=args.status, consumer=args.consumer, limit=args.limit, offset=0
        )
    if records:
        print(dead_letters_table(records))
    print(f"{len(records)} of {total} dead letter(s)")
    return 0


async def replay_dead_letter(settings: Settings, args: argparse.Namespace) -> int:
    actor = Actor(type="admin", id=args.by or getpass.getuser())
    async with (
        _database(settings) as sessionmaker,
        _broker(settings) as broker,
        sessionmaker() as session,
        session.begin(),
    ):
        record = await dead_letters.replay(
            session, broker, args.id, actor, topic_prefix=settings.kafka_topic_prefix
        )
    print(f"replayed {record.id} to {record.original_topic} ({record.replays} replay(s), by {actor.id})")
    return 0


async def verify(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as sessionmaker, sessionmaker() as session:
        verification = await service.verify_chain(session)
    print(verification.summary())
    return 0 if verification.intact else 1


COMMANDS: dict[str, Command] = {
    "verify": verify,
    "dead-letters": show_dead_letters,
    "replay": replay_dead_letter,
}


def _count(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m audit.cli", description="Audit operators' commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", help="verify the trail's hash chain; exit 1 at the first broken link")
    listing = commands.add_parser("dead-letters", help="list dead-lettered messages, newest failures first")
    listing.add_argument("--status", choices=dead_letters.STATUSES)
    listing.add_argument("--consumer", help="only this consumer's, `<service>.<consumer>`")
    listing.add_argument("--limit", type=_count, default=50, help="at most this many (50 by default)")
    replay = commands.add_parser("replay", help="publish a dead letter again to its original topic")
    replay.add_argument("id", type=uuid.UUID, help="the dead letter's id")
    replay.add_argument("--by", help="who replays it (by default the user running the command)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(COMMANDS[args.command](Settings(), args))
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
