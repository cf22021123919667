"""The event catalogue: every event type, its version, its topic and the schema of its data."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from pydantic import BaseModel

from relay_contracts.envelope import Envelope
from relay_contracts.events import ingestion
from relay_contracts.topics import TopicSpec, topic_for_service


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    data: builtins.type[BaseModel]
    description: str

    @property
    def topic(self) -> TopicSpec:
        return topic_for_service(self.type.split(".", 1)[0])

    def envelope(
        self,
        data: BaseModel,
        *,
        subject: str,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> Envelope:
        if not isinstance(data, self.data):
            raise TypeError(
                f"{self.type} v{self.version} carries {self.data.__name__}, not {type(data).__name__}"
            )
        return Envelope(
            type=self.type,
            version=self.version,
            producer=self.type.split(".", 1)[0],
            subject=subject,
            traceparent=traceparent,
            tracestate=tracestate,
            data=data.model_dump(mode="json"),
        )

    def parse(self, envelope: Envelope) -> BaseModel:
        parsed: BaseModel = self.data.model_validate(envelope.data)
        return parsed


INGESTION_WEBHOOK_RECEIVED = EventSpec(
    type="ingestion.webhook.received",
    version=1,
    data=ingestion.WebhookReceived,
    description="A provider notification was accepted and made durable; it may point to data still to fetch.",
)

EVENTS: tuple[EventSpec, ...] = (INGESTION_WEBHOOK_RECEIVED,)


def event_spec(event_type: str, version: int) -> EventSpec:
    for spec in EVENTS:
        if spec.type == event_type and spec.version == version:
            return spec
    raise KeyError(f"unknown event {event_type} v{version}")
