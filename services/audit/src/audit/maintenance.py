"""The audit service's own jobs: pruning what retention no longer keeps, and verifying the chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit import service
from audit.config import Settings
from relay_platform.jobs import ScheduledJob
from relay_platform.logging import get_logger
from relay_platform.service import Runtime

log = get_logger(__name__)


class ChainBroken(Exception):
    """The trail's chain does not verify: its run fails, for operators to see."""


async def prune_expired_entries(sessionmaker: async_sessionmaker[AsyncSession], retention_days: int) -> int:
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        return await service.prune_expired(session, now - timedelta(days=retention_days), now)


async def verify_chain(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    """Verifies the whole chain; its summary ends with the head's hash, which the job's `finished` event
    carries to Kafka, out of this database's reach."""
    async with sessionmaker() as session, session.begin():
        verification = await service.verify_chain(session)
    if not verification.intact:
        log.error("audit_chain_broken", summary=verification.summary())
        raise ChainBroken(verification.summary())
    return verification.summary()


def scheduled_jobs(runtime: Runtime) -> list[ScheduledJob]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    sessionmaker = runtime.sessionmaker
    return [
        ScheduledJob(
            "prune-expired-entries",
            f"Prune audit entries older than {settings.retention_days} days",
            settings.prune_cron,
            lambda: prune_expired_entries(sessionmaker, settings.retention_days),
        ),
        ScheduledJob(
            "verify-chain",
            "Verify the audit trail's hash chain",
            settings.verify_cron,
            lambda: verify_chain(sessionmaker),
        ),
    ]
