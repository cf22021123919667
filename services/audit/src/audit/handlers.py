"""Kafka subscribers of the audit service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import service
from relay_contracts import DOMAIN_TOPICS, Envelope
from relay_platform.service import Runtime


async def on_any_event(envelope: Envelope, session: AsyncSession) -> None:
    await service.record_event(session, envelope)


def subscribe(runtime: Runtime) -> None:
    runtime.consumers.subscribe("trail", tuple(t.name for t in DOMAIN_TOPICS), {}, default=on_any_event)
