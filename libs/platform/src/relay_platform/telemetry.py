"""OpenTelemetry: one tracer provider per service, exporter chosen by settings, W3C trace context
carried across HTTP (FastAPI, httpx) and Kafka (FastStream middleware, and the outbox envelope)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import Token

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.util.types import AttributeValue

tracer = trace.get_tracer(__name__)


def create_tracer_provider(service: str, exporter: str, otlp_endpoint: str) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.namespace": "relay"})
    )
    span_exporter: SpanExporter | None = None
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    return provider


def use_tracer_provider(provider: TracerProvider) -> None:
    """Makes `provider` the process's own, for the spans of code that has no provider handed to it (jobs,
    workers, loops). A process runs one service: the first service's provider stays."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)


def current_trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span, to store with an outgoing event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def attach_trace_headers(headers: Mapping[str, str]) -> Token[context.Context]:
    """Makes the trace context in `headers` current; returns the token for `context.detach`."""
    return context.attach(propagate.extract(dict(headers)))


def current_trace_id() -> str | None:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None


def current_traceparent() -> str | None:
    """The current span's `traceparent`, to store with work done later (a notification, a queued export)."""
    return current_trace_headers().get("traceparent")


@contextmanager
def continued_span(
    name: str, traceparent: str | None, attributes: Mapping[str, AttributeValue] | None = None
) -> Iterator[trace.Span]:
    """A span of work stored to be done later, in the trace of the request or event that stored it: one
    athlete's story stays one trace however long it waited. Without a stored trace, a trace of its own."""
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else context.Context()
    with tracer.start_as_current_span(name, context=parent, attributes=attributes) as span:
        yield span
