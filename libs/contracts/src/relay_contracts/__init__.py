"""Relay's contracts: the message envelope, the event catalogue and the topic manifest."""

from relay_contracts.catalog import EVENTS, EventSpec, event_spec
from relay_contracts.envelope import Envelope
from relay_contracts.topics import DEAD_LETTERS, DOMAIN_TOPICS, TOPICS, TopicSpec, topic_for_service

__all__ = [
    "DEAD_LETTERS",
    "DOMAIN_TOPICS",
    "EVENTS",
    "TOPICS",
    "Envelope",
    "EventSpec",
    "TopicSpec",
    "event_spec",
    "topic_for_service",
]
