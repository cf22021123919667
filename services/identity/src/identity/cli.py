"""Operators' commands of the identity service, run where its settings (`IDENTITY_*`) are set:

python -m identity.cli create-super-admin --email ops@example.com --name "Ops"
    (the password is read from RELAY_ADMIN_PASSWORD, or asked twice on the terminal)
python -m identity.cli rotate-signing-key
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import timedelta

from identity import admins
from identity.config import Settings
from identity.signing import SigningKeys
from relay_contracts.events.common import Actor
from relay_platform.crypto import Keyring
from relay_platform.db import create_engine, create_sessionmaker
from relay_platform.errors import AppError


def _read_password() -> str:
    password = os.environ.get("RELAY_ADMIN_PASSWORD")
    if password:
        return password
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise SystemExit("The two passwords differ")
    return password


async def create_super_admin(settings: Settings, email: str, name: str, password: str) -> str:
    engine = create_engine(settings.database_url.get_secret_value(), 1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            admin = await admins.create_admin(
                session,
                email=email,
                name=name,
                role="super_admin",
                password=password,
                actor=Actor(type="system", id="identity.cli"),
                topic_prefix=settings.kafka_topic_prefix,
            )
        return admin.id
    finally:
        await engine.dispose()


async def rotate_signing_key(settings: Settings) -> str:
    """A new key signs from now on; the previous ones stay published until every token they signed
    (athletes' and operators') has expired."""
    engine = create_engine(settings.database_url.get_secret_value(), 1)
    try:
        keyring = Keyring.parse(settings.secrets_keys.get_secret_value())
        signing = SigningKeys(create_sessionmaker(engine), keyring, settings.signing_key_cache_seconds)
        longest = max(settings.access_token_ttl_seconds, settings.admin_session_ttl_seconds)
        return await signing.rotate(retire_previous_after=timedelta(seconds=longest + 60))
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m identity.cli", description="Identity operators' commands."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-super-admin", help="create a super_admin account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    commands.add_parser("rotate-signing-key", help="start signing with a new key, without downtime")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        if args.command == "create-super-admin":
            admin_id = asyncio.run(create_super_admin(settings, args.email, args.name, _read_password()))
            print(f"created super_admin {admin_id} <{args.email.strip().lower()}>")
        else:
            print(f"signing with key {asyncio.run(rotate_signing_key(settings))}")
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
