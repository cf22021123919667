"""Operators' commands of the connections service, run where its settings (`CONNECTIONS_*`) are set:

python -m connections.cli reseal-tokens
    After a new key is put first in CONNECTIONS_TOKEN_KEYS (the old one kept after it, and the
    services restarted), re-seals every connection's data key under the new key, in small batches,
    while the service runs. When it reports none left, the old key can be removed from the keyring.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.config import Settings
from connections.tokens import reseal_tokens
from relay_platform.crypto import Keyring
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Resealed:
    resealed: int
    active_kid: str
    remaining: dict[str, int]
    """Connections still sealed under other keys (rows locked by the service meanwhile; run again)."""


async def reseal_all(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring, *, batch_size: int = 200
) -> Resealed:
    """Re-seals, batch by batch (each its own short transaction, skipping rows the service holds),
    every connection whose data key another keyring key sealed."""
    resealed = 0
    while True:
        async with sessionmaker() as session, session.begin():
            batch = await repository.connections_sealed_with_other_keys(
                session, keyring.active_kid, batch_size
            )
            for connection in batch:
                if reseal_tokens(keyring, connection):
                    session.add(connection)
                    resealed += 1
        if len(batch) < batch_size:
            break
    async with sessionmaker() as session:
        counts = await repository.count_by_key(session)
    remaining = {kid: count for kid, count in counts.items() if kid != keyring.active_kid}
    log.info("tokens_resealed", resealed=resealed, active_kid=keyring.active_kid, remaining=remaining)
    return Resealed(resealed, keyring.active_kid, remaining)


async def reseal_tokens_command(settings: Settings) -> Resealed:
    engine = create_engine(settings.database_url.get_secret_value(), 1)
    try:
        keyring = Keyring.parse(settings.token_keys.get_secret_value())
        return await reseal_all(create_sessionmaker(engine), keyring)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m connections.cli", description="Connections operators' commands."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "reseal-tokens", help="re-seal every connection's tokens under the keyring's first key"
    )
    parser.parse_args(argv)
    done = asyncio.run(reseal_tokens_command(Settings()))
    print(f"re-sealed {done.resealed} connection(s) under key {done.active_kid}")
    if done.remaining:
        print(f"still under other keys (in use meanwhile, run again): {done.remaining}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
