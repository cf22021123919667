"""Publishing the connections service's events: staged in the caller's transaction (outbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts.catalog import EventSpec
from relay_platform.outbox import add_event

if TYPE_CHECKING:
    from connections.resources import Connections


async def publish(
    session: AsyncSession, connections: Connections, spec: EventSpec, data: BaseModel, *, subject: str
) -> None:
    await add_event(
        session, spec.envelope(data, subject=subject), topic_prefix=connections.settings.kafka_topic_prefix
    )
