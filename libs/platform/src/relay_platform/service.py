"""The composition of a Relay service: one call from each service's `app.py` builds the FastAPI app,
and its lifespan creates and closes everything that talks to the outside (no work at import time)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from relay_contracts.catalog import AUDIT_JOB_RUN_REQUESTED
from relay_contracts.topics import AUDIT_EVENTS
from relay_platform.auth import AccessTokenVerifier, KeySource, SessionRevocations
from relay_platform.config import ServiceSettings
from relay_platform.consumers import Consumers
from relay_platform.db import asyncpg_dsn, create_engine, create_sessionmaker, database_is_reachable
from relay_platform.errors import install_error_handlers
from relay_platform.http import create_http_client
from relay_platform.jobs import ScheduledJob, Scheduler
from relay_platform.lag import ConsumerLag
from relay_platform.logging import configure_logging, get_logger
from relay_platform.messaging import create_broker
from relay_platform.metrics import PlatformMetrics
from relay_platform.outbox import OutboxRelay
from relay_platform.ratelimit import RateLimiter, RateLimitMiddleware
from relay_platform.telemetry import create_tracer_provider, use_tracer_provider
from relay_platform.web import RequestContextMiddleware

log = get_logger(__name__)


@dataclass
class Runtime:
    """What a running service holds: reachable from endpoints as `request.app.state.runtime`."""

    service: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: KafkaBroker
    metrics: PlatformMetrics
    outbox: OutboxRelay
    consumers: Consumers
    redis: Redis
    revocations: SessionRevocations
    rate_limiter: RateLimiter
    auth: AccessTokenVerifier
    resources: Any = None
    """What the service's own `resources` context yielded (its clients), if it has one."""
    scheduler: Scheduler | None = None
    """The service's scheduled jobs, if it has some."""


Subscribe = Callable[[Runtime], None]
Resources = Callable[[Runtime], contextlib.AbstractAsyncContextManager[Any]]
Jobs = Callable[[Runtime], Sequence[ScheduledJob]]
"""A service's scheduled jobs, built once its resources are open."""
KeySourceFactory = Callable[[AsyncEngine, ServiceSettings], KeySource]
"""How a service reads identity's public keys; by default over HTTP from `auth_jwks_url`."""


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter] = (),
    subscribe: Subscribe | None = None,
    key_source: KeySourceFactory | None = None,
    resources: Resources | None = None,
    jobs: Jobs | None = None,
    description: str = "",
    version: str = "0.1.0",
) -> FastAPI:
    configure_logging(service, settings.log_level)
    registry = CollectorRegistry()
    metrics = PlatformMetrics(registry)
    tracer_provider = create_tracer_provider(
        service, settings.otel_traces_exporter, settings.otel_exporter_otlp_endpoint
    )
    use_tracer_provider(tracer_provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=tracer_provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = _build(service, settings, metrics, tracer_provider, key_source)
        async with contextlib.AsyncExitStack() as stack:
            # The service's own clients exist before anything can call a handler or an endpoint,
            # and close after the last one has finished.
            if resources is not None:
                runtime.resources = await stack.enter_async_context(resources(runtime))
            if subscribe is not None:
                subscribe(runtime)
            if jobs is not None:
                runtime.scheduler = _scheduler(runtime, jobs(runtime))
            await runtime.broker.start()
            runtime.outbox.start()
            await stack.enter_async_context(_consumer_lag(runtime).running())
            if runtime.scheduler is not None:
                await runtime.scheduler.declare()
                await stack.enter_async_context(runtime.scheduler.scheduled())
            app.state.runtime = runtime
            log.info("service_started", port=settings.http_port, environment=settings.environment)
            try:
                yield
            finally:
                await _stop(runtime)
        tracer_provider.shutdown()
        log.info("service_stopped")

    app = FastAPI(
        title=f"Relay {service}",
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    if settings.rate_limit_enabled:
        app.add_middleware(RateLimitMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        excluded_urls="healthz,readyz,metrics",
        # One span per request: spans of each body chunk received and sent tell an operator nothing.
        exclude_spans=["receive", "send"],
    )
    app.include_router(_operations_router(service, registry))
    for router in routers:
        app.include_router(router)
    return app


def _build(
    service: str,
    settings: ServiceSettings,
    metrics: PlatformMetrics,
    tracer_provider: TracerProvider,
    key_source: KeySourceFactory | None,
) -> Runtime:
    database_url = settings.database_url.get_secret_value()
    engine = create_engine(database_url, settings.database_pool_size)
    sessionmaker = create_sessionmaker(engine)
    broker = create_broker(service, settings, tracer_provider, metrics.registry)
    outbox = OutboxRelay(
        sessionmaker=sessionmaker,
        broker=broker,
        database_dsn=asyncpg_dsn(database_url),
        metrics=metrics,
        poll_interval=settings.outbox_poll_interval_seconds,
        batch_size=settings.outbox_batch_size,
        linger=settings.outbox_linger_seconds,
    )
    consumers = Consumers(
        service=service,
        settings=settings,
        broker=broker,
        sessionmaker=sessionmaker,
        metrics=metrics,
        tracer_provider=tracer_provider,
    )
    redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    revocations = SessionRevocations(redis)
    auth = AccessTokenVerifier(
        key_source=(key_source or _jwks_over_http)(engine, settings),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        admin_audience=settings.auth_admin_audience,
        revocations=revocations,
    )
    return Runtime(
        service,
        settings,
        engine,
        sessionmaker,
        broker,
        metrics,
        outbox,
        consumers,
        redis,
        revocations,
        RateLimiter(redis, settings),
        auth,
    )


def _scheduler(runtime: Runtime, jobs: Sequence[ScheduledJob]) -> Scheduler:
    """The service's jobs, and its consumer of the operators' requests to run one now."""
    scheduler = Scheduler(
        service=runtime.service,
        jobs=jobs,
        sessionmaker=runtime.sessionmaker,
        redis=runtime.redis,
        topic_prefix=runtime.settings.kafka_topic_prefix,
        metrics=runtime.metrics.jobs,
        enabled=runtime.settings.jobs_enabled,
    )
    runtime.consumers.subscribe(
        "job-runs", (AUDIT_EVENTS.name,), {AUDIT_JOB_RUN_REQUESTED.type: scheduler.on_run_requested}
    )
    return scheduler


def _consumer_lag(runtime: Runtime) -> ConsumerLag:
    return ConsumerLag(
        bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
        groups=runtime.consumers.groups,
        gauge=runtime.metrics.consumer_lag,
        interval_seconds=runtime.settings.consumer_lag_interval_seconds,
        client_id=f"relay-{runtime.service}-lag",
    )


async def _stop(runtime: Runtime) -> None:
    """Stop consuming (in-flight messages finish), relay what is committed, then close connections."""
    grace = runtime.settings.shutdown_grace_seconds
    for subscriber in runtime.broker.subscribers:
        with contextlib.suppress(Exception):
            await subscriber.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(runtime.outbox.stop(), timeout=grace)
    await runtime.broker.stop()
    await runtime.redis.aclose()
    await runtime.engine.dispose()


def _jwks_over_http(engine: AsyncEngine, settings: ServiceSettings) -> KeySource:
    async def fetch() -> dict[str, Any]:
        async with create_http_client(timeout=3.0, retries=1) as client:
            response = await client.get(settings.auth_jwks_url)
            response.raise_for_status()
            keys: dict[str, Any] = response.json()
            return keys

    return fetch


def _operations_router(service: str, registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": service}

    @router.get("/readyz", summary="Readiness: its database and Kafka are reachable")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            return JSONResponse({"status": "starting", "service": service}, status_code=503)
        database, kafka = await asyncio.gather(
            database_is_reachable(runtime.engine), runtime.broker.ping(timeout=2.0)
        )
        checks = {"database": "ok" if database else "unreachable", "kafka": "ok" if kafka else "unreachable"}
        ready = database and kafka
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "service": service, "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        # Relative URL: the page works both at the service and behind the gateway's /docs/<service>/.
        return get_swagger_ui_html(openapi_url="openapi.json", title=f"Relay {service} API")

    return router
