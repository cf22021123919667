"""The async database engine and sessions, the request-boundary session, and Alembic's runner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def create_engine(database_url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def asyncpg_dsn(database_url: str) -> str:
    """The same database as a plain `postgresql://` DSN, for asyncpg connections of our own."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def database_is_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the endpoint returns and before the response is
    sent: an answered request is a durable one. The request boundary commits; nothing else does."""
    async with request.app.state.runtime.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def run_migrations(target_metadata: MetaData, database_url: str) -> None:
    """Called from a service's `migrations/env.py`; migrations are an explicit step, never run at import."""
    from alembic import context

    if context.is_offline_mode():
        context.configure(url=database_url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(database_url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def service_metadata() -> MetaData:
    """The metadata of one service's database: the kit's outbox and processed-message log, to which the
    service's base class (`class Table(SQLModel, registry=registry(metadata=...))`) adds its own tables.
    Each service has its own, so that tables of two services named alike (`api_keys`,
    `athlete_profiles`) never collide in one process; Alembic compares the migrations with it."""
    from relay_platform.consumers import ProcessedMessage
    from relay_platform.outbox import OutboxMessage

    metadata = MetaData()
    for table in (OutboxMessage.__table__, ProcessedMessage.__table__):  # type: ignore[attr-defined]
        table.to_metadata(metadata)
    return metadata
