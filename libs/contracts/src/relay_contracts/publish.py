"""Writes the published contract for other teams: JSON Schemas, an AsyncAPI document and the topic
manifest, under `libs/contracts/published/<catalog version>/`.

    python -m relay_contracts.publish [--check] [OUT_DIR]

What is published is a promise to the readers of Relay's events: the command refuses to write a render
that would break it (`relay_contracts.compat`) and never deletes a published file. `--check` writes
nothing and fails when the published files differ from the code or the code would break them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from relay_contracts.catalog import EVENTS, EventSpec
from relay_contracts.compat import breaking_changes
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


def published_files(out: Path) -> dict[str, str]:
    """The files already published under `out`, by relative path, as text."""
    if not out.is_dir():
        return {}
    return {path.relative_to(out).as_posix(): path.read_text() for path in sorted(out.rglob("*.json"))}


class BreakingChangeError(Exception):
    """The render would break what is already published."""

    def __init__(self, changes: list[str]) -> None:
        super().__init__(f"{len(changes)} breaking change(s)")
        self.changes = changes


def write(out: Path) -> list[Path]:
    """Writes the rendered files that differ from those under `out`, unless the render breaks them."""
    rendered = render()
    published = published_files(out)
    changes = breaking_changes(published, rendered)
    if changes:
        raise BreakingChangeError(changes)
    written = []
    for relative, text in rendered.items():
        if published.get(relative) == text:
            continue
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def check(out: Path) -> int:
    """Writes nothing; 1 when the files under `out` differ from the render or the render breaks them."""
    rendered = render()
    published = published_files(out)
    changes = breaking_changes(published, rendered)
    if changes:
        _report(out, changes)
        return 1
    stale = [relative for relative, text in rendered.items() if published.get(relative) != text]
    if stale:
        print(f"{out} is out of date with the code; run `make contracts` and commit:", file=sys.stderr)
        for relative in stale:
            print(f"  {relative}", file=sys.stderr)
        return 1
    print(f"{out} is up to date")
    return 0


def _report(out: Path, changes: list[str]) -> None:
    print(f"The code would break what {out} promises the readers of its events:", file=sys.stderr)
    for change in changes:
        print(f"  {change}", file=sys.stderr)
    print(
        "A published version never changes in a way that breaks its readers. Publish the change as a new "
        "version: keep the published EventSpec in relay_contracts.catalog as it is (it stays published "
        "until its consumers have moved) and add one beside it with the same type, version + 1 and the "
        "new data model. A topic's key, cleanup policy or partitions change with a new topic.",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m relay_contracts.publish",
        description="Write the published event contract, refusing changes that break its readers.",
    )
    parser.add_argument(
        "out", nargs="?", type=Path, default=DEFAULT_OUT, help="the catalog version directory"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail when the published files differ from the code or the code breaks them",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.check:
        return check(out)
    try:
        written = write(out)
    except BreakingChangeError as error:
        _report(out, error.changes)
        print("Nothing was written.", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
