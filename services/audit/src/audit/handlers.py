"""Kafka subscribers of the audit service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from audit import dead_letters, jobs, service
from relay_contracts import DEAD_LETTERS, DOMAIN_TOPICS, Envelope
from relay_contracts.catalog import JOB_EVENTS
from relay_platform.consumers import Delivery, Handler
from relay_platform.service import Runtime


async def on_events(envelopes: Sequence[Envelope], session: AsyncSession) -> None:
    """Every event of every domain topic, a poll at a time, appended to the trail (an athlete's
    deletion erases them there, in the same transaction: see `audit.service`); the jobs' events also
    update the jobs operators see. One consumer reads the topics once for both."""
    await service.record_events(session, envelopes)
    for envelope in envelopes:
        handler = JOB_HANDLERS.get(envelope.type)
        if handler is not None:
            await handler(envelope, session)


async def on_jobs_declared(envelope: Envelope, session: AsyncSession) -> None:
    await jobs.record_declaration(session, envelope)


async def on_job_started(envelope: Envelope, session: AsyncSession) -> None:
    await jobs.record_start(session, envelope)


async def on_job_finished(envelope: Envelope, session: AsyncSession) -> None:
    await jobs.record_end(session, envelope)


JOB_HANDLERS: dict[str, Handler] = {
    **{events.declared.type: on_jobs_declared for events in JOB_EVENTS.values()},
    **{events.started.type: on_job_started for events in JOB_EVENTS.values()},
    **{events.finished.type: on_job_finished for events in JOB_EVENTS.values()},
}


async def on_dead_letters(deliveries: Sequence[Delivery], session: AsyncSession) -> None:
    """The records of the dead-letter topic as they are: a message is there precisely because it may
    not be a valid envelope."""
    await dead_letters.store_dead_letters(session, deliveries)


def subscribe(runtime: Runtime) -> None:
    topics = tuple(t.name for t in DOMAIN_TOPICS)
    runtime.consumers.subscribe("trail", topics, {}, batch=on_events)
    runtime.consumers.subscribe_records("dead-letters", (DEAD_LETTERS.name,), on_dead_letters)
