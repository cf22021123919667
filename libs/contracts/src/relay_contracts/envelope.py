"""The one envelope every Relay message travels in."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*\.[a-z][a-z_]*$")
TRACEPARENT_PATTERN = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


class Envelope(BaseModel):
    """A fact that happened in one service, told to the others.

    `type` reads `<service>.<entity>.<past_tense_verb>`; `version` is the major version of `data`'s
    schema (within a version fields are only ever added, and optional). `subject` is the key the
    message is partitioned by (usually the athlete), so that one subject's events keep their order.
    `traceparent`/`tracestate` carry the W3C trace context of the request that caused the event.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique message id, the idempotency key.")
    type: str = Field(description="`<service>.<entity>.<past_tense_verb>`")
    version: int = Field(default=1, ge=1, description="Major version of the data schema.")
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str = Field(description="The service that produced the event.")
    subject: str = Field(min_length=1, description="The entity the event is about; also the Kafka key.")
    traceparent: str | None = Field(default=None, description="W3C traceparent of the causing request.")
    tracestate: str | None = Field(default=None, description="W3C tracestate of the causing request.")
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _type_is_dotted_past_tense(cls, value: str) -> str:
        if not EVENT_TYPE_PATTERN.match(value):
            raise ValueError("type must read <service>.<entity>.<past_tense_verb>")
        return value

    @field_validator("traceparent")
    @classmethod
    def _traceparent_is_w3c(cls, value: str | None) -> str | None:
        if value is not None and not TRACEPARENT_PATTERN.match(value):
            raise ValueError("traceparent must follow W3C Trace Context")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _occurred_at_is_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone")
        return value

    @property
    def service(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def entity(self) -> str:
        return self.type.split(".")[1]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
