"""What the export service holds while it runs, opened in its lifespan (no work at import time): the
connections client, the providers' clients, the sender of queued exports and the auto-export job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from export import service
from export.config import Settings
from export.providers.base import WorkoutPusher
from export.providers.coros_hub import CorosTrainingHub
from export.providers.garmin import GarminWorkouts
from export.sending import Sender, SenderMetrics
from export.tokens import Connections
from relay_platform.http import create_http_client
from relay_platform.jobs import PeriodicJob, ScheduledJob, running
from relay_platform.service import Runtime

PUSH_OUTCOMES = ("exported", "removed", "refused", "retried", "failed", "crashed")
"""How a push ends (`relay_export_pushes_total`): the workout is at the provider (`exported`) or gone from
it (`removed`); the provider or the link refused it for good (`refused`); it is tried again later
(`retried`) or was given up after its attempts (`failed`); the attempt broke unexpectedly (`crashed`)."""


@dataclass(frozen=True)
class Export:
    settings: Settings
    sender: Sender


@asynccontextmanager
async def open_export(runtime: Runtime) -> AsyncIterator[Export]:
    settings = settings_of(runtime)
    async with (
        create_http_client(
            settings.connections_url,
            timeout=5.0,
            retries=2,
            headers={"Authorization": f"Bearer {settings.connections_token.get_secret_value()}"},
        ) as connections,
        # Retries are the sender's: a retried create could make a second workout.
        create_http_client(timeout=settings.provider_timeout_seconds, retries=0) as providers_http,
    ):
        pushers: dict[str, WorkoutPusher] = {
            "garmin": GarminWorkouts(providers_http, settings.garmin_workout_api_url),
            "coros_training_hub": CorosTrainingHub(providers_http, settings.coros_hub_api_url),
        }
        metrics = SenderMetrics(runtime.metrics.registry)
        # Known in advance: shown as 0 rather than missing until the first push.
        for provider in pushers:
            for outcome in PUSH_OUTCOMES:
                metrics.pushes.labels(provider=provider, outcome=outcome)
            metrics.duration.labels(provider=provider)
        sender = Sender(
            sessionmaker=runtime.sessionmaker,
            settings=settings,
            connections=Connections(connections),
            pushers=pushers,
            metrics=metrics,
        )

        loops = [PeriodicJob("send_exports", settings.send_interval_seconds, sender.send_due)]
        async with running(loops if settings.jobs_enabled else [], runtime.metrics.jobs):
            yield Export(settings=settings, sender=sender)


def scheduled_jobs(runtime: Runtime) -> list[ScheduledJob]:
    """The export service's jobs (`relay_platform.jobs`)."""
    settings = settings_of(runtime)

    async def queue_upcoming() -> int:
        now = datetime.now(UTC)
        async with runtime.sessionmaker() as session, session.begin():
            return await service.queue_upcoming(session, now, now.date(), settings.auto_export_days)

    return [
        ScheduledJob(
            "auto-export",
            "Queue upcoming sessions of opted-in athletes",
            settings.auto_export_cron,
            queue_upcoming,
        )
    ]


def settings_of(runtime: Runtime) -> Settings:
    """The service's own settings (the runtime's, or those of the resources handlers are given)."""
    settings = runtime.settings
    if not isinstance(settings, Settings):
        settings = runtime.resources.settings
    assert isinstance(settings, Settings)
    return settings
