"""Writes the published contract for other teams: JSON Schemas, an AsyncAPI document and the topic
manifest, under `libs/contracts/published/<catalog version>/`.

    python -m relay_contracts.publish [OUT_DIR]
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from relay_contracts.catalog import EVENTS, EventSpec
from relay_contracts.envelope import Envelope
from relay_contracts.topics import TOPICS

CATALOG_VERSION = "v1"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "published" / CATALOG_VERSION


def schema_file(spec: EventSpec) -> str:
    return f"{spec.type}.v{spec.version}.json"


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The full message schema: the envelope, with `data` narrowed to this event's schema."""
    schema: dict[str, Any] = Envelope.model_json_schema()
    data: dict[str, Any] = spec.data.model_json_schema()
    defs = {**schema.pop("$defs", {}), **data.pop("$defs", {})}
    schema["properties"]["type"] = {"const": spec.type, "type": "string"}
    schema["properties"]["version"] = {"const": spec.version, "type": "integer"}
    schema["properties"]["data"] = data
    schema["title"] = f"{spec.type} v{spec.version}"
    schema["description"] = spec.description
    schema["required"] = sorted({*schema.get("required", []), "type", "version", "data"})
    if defs:
        schema["$defs"] = defs
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in EVENTS:
        message_id = f"{spec.type}.v{spec.version}".replace(".", "_")
        messages[message_id] = {
            "name": spec.type,
            "title": f"{spec.type} v{spec.version}",
            "summary": spec.description,
            "contentType": "application/json",
            "payload": {"$ref": f"schemas/{schema_file(spec)}"},
        }
    for topic in TOPICS:
        channel_id = topic.name.replace(".", "_")
        topic_messages = {
            mid: {"$ref": f"#/components/messages/{mid}"}
            for mid, message in messages.items()
            if topic.producers == (message["name"].split(".", 1)[0],)
        }
        channels[channel_id] = {
            "address": topic.name,
            "description": f"{topic.description} Key: {topic.key}.",
            "messages": topic_messages,
            "bindings": {
                "kafka": {
                    "partitions": topic.partitions,
                    "replicas": topic.replication_factor,
                    "topicConfiguration": {
                        "cleanup.policy": [topic.cleanup_policy],
                        "retention.ms": topic.retention_ms,
                    },
                }
            },
        }
        if topic_messages:
            operations[f"receive_{channel_id}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{mid}"} for mid in topic_messages],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Relay events",
            "version": CATALOG_VERSION,
            "description": (
                "Events published by Relay's services on Apache Kafka. Every message is a JSON envelope "
                "(schemas/envelope.json) keyed by its subject; W3C trace context travels in the envelope "
                "and in the `traceparent`/`tracestate` Kafka headers. Within a version fields are only "
                "added, and optional; a breaking change is published as a new version beside the old."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[str, str]:
    """Every published file, by relative path, as text."""

    def dump(value: Any) -> str:
        return json.dumps(value, indent=2, sort_keys=True) + "\n"

    envelope = Envelope.model_json_schema()
    envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    files = {
        "asyncapi.json": dump(asyncapi()),
        "topics.json": dump([asdict(topic) for topic in TOPICS]),
        "schemas/envelope.json": dump(envelope),
    }
    for spec in EVENTS:
        files[f"schemas/{schema_file(spec)}"] = dump(event_schema(spec))
    return files


def write(out: Path) -> list[Path]:
    written = []
    for relative, text in render().items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for path in write(target):
        print(path)
