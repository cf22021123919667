"""What the ingestion service holds while it runs, opened in its lifespan (no work at import time): the
webhooks' intake, the providers' readers, the athletes' tokens from the connections service, the shared
request budget, the worker and the polling job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from ingestion import syncs
from ingestion.budget import BudgetMetrics, RedisBudget, parse_limits
from ingestion.config import PROVIDER_API_URLS, Settings
from ingestion.intake import WebhookIntake
from ingestion.providers.registry import PROVIDER_APIS
from ingestion.tokens import AccessTokens
from ingestion.webhooks import WebhookMetrics
from ingestion.worker import Readers, Worker, WorkerMetrics
from relay_platform.db import asyncpg_dsn
from relay_platform.http import create_http_client
from relay_platform.jobs import ScheduledJob
from relay_platform.service import Runtime


@dataclass(frozen=True)
class Ingestion:
    settings: Settings
    intake: WebhookIntake
    readers: Readers
    worker: Worker
    webhook_metrics: WebhookMetrics


def polled_providers(settings: Settings) -> list[str]:
    """Providers whose webhooks Relay cannot verify (their secret is not configured): polled instead."""
    polled = []
    for provider in ("coros", "polar", "oura", "whoop", "fitbit", "wahoo"):
        feed = settings.feed(provider)
        secret = feed.webhook_secret if provider in ("polar", "wahoo") else feed.client_secret
        if secret is None:
            polled.append(provider)
    return polled


@asynccontextmanager
async def open_ingestion(runtime: Runtime) -> AsyncIterator[Ingestion]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    limits = {provider: parse_limits(settings.feed(provider).rate_limits) for provider in PROVIDER_API_URLS}
    async with (
        create_http_client(
            settings.connections_url,
            timeout=5.0,
            retries=2,
            headers={"Authorization": f"Bearer {settings.connections_token.get_secret_value()}"},
        ) as connections,
        # Retries are the worker's: it knows the budget and when to come back.
        create_http_client(timeout=settings.provider_timeout_seconds, retries=0) as providers_http,
    ):
        readers = Readers(
            settings=settings,
            apis=PROVIDER_APIS,
            tokens=AccessTokens(connections),
            budget=RedisBudget(
                runtime.redis,
                limits,
                live_reserve_percent=settings.live_reserve_percent,
                namespace=settings.kafka_topic_prefix,
                metrics=BudgetMetrics(runtime.metrics.registry),
            ),
            http=providers_http,
        )
        worker = Worker(
            sessionmaker=runtime.sessionmaker,
            readers=readers,
            database_dsn=asyncpg_dsn(settings.database_url.get_secret_value()),
            metrics=WorkerMetrics(runtime.metrics.registry),
        )

        if settings.worker_enabled:
            worker.start()
        try:
            intake = WebhookIntake(runtime.sessionmaker, topic_prefix=settings.kafka_topic_prefix)
            yield Ingestion(
                settings=settings,
                intake=intake,
                readers=readers,
                worker=worker,
                webhook_metrics=WebhookMetrics(runtime.metrics.registry),
            )
        finally:
            await worker.stop()


def scheduled_jobs(runtime: Runtime) -> list[ScheduledJob]:
    """The ingestion service's jobs (`relay_platform.jobs`); they run where the worker runs."""
    settings = settings_of(runtime)

    async def poll() -> int:
        async with runtime.sessionmaker() as session, session.begin():
            return await syncs.poll_accounts(
                session, polled_providers(settings), timedelta(seconds=settings.poll_interval_seconds)
            )

    return [
        ScheduledJob(
            "poll-accounts",
            "Poll the accounts of providers without usable webhooks",
            settings.poll_cron,
            poll,
            active=settings.worker_enabled,
        )
    ]


def settings_of(runtime: Runtime) -> Settings:
    """The service's own settings (the runtime's, or those of the resources handlers are given)."""
    settings = runtime.settings
    if not isinstance(settings, Settings):
        settings = runtime.resources.settings
    assert isinstance(settings, Settings)
    return settings


def ingestion_of(runtime: Runtime) -> Ingestion:
    ingestion: Ingestion = runtime.resources
    return ingestion


def ingestion_from(request: Request) -> Ingestion:
    ingestion: Ingestion = request.app.state.runtime.resources
    return ingestion
