"""The planning API, one router per section of seed 001 (Onboarding, Programme, Séances)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request


def _now() -> datetime:
    return datetime.now(UTC)


def _topic_prefix(request: Request) -> str:
    prefix: str = request.app.state.runtime.settings.kafka_topic_prefix
    return prefix


Now = Annotated[datetime, Depends(_now)]
TopicPrefix = Annotated[str, Depends(_topic_prefix)]
