"""The audit API: the trail for operators and for each athlete (`trail`), scheduled jobs (`jobs`) and
dead-lettered messages (`dead_letters`), seed 001's section Admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request


def _topic_prefix(request: Request) -> str:
    prefix: str = request.app.state.runtime.settings.kafka_topic_prefix
    return prefix


TopicPrefix = Annotated[str, Depends(_topic_prefix)]
