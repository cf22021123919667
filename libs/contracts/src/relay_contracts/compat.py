"""Whether a new render of the published contract breaks what an already published version promises.

A published version is a promise to the readers of its events: every message they will read under it
validates against the schema they were built from. A change is therefore judged from the reader's
side. It breaks when a producer following the proposed schema may send a value the published schema
did not allow: the values the proposed schema accepts must stay a subset of the published ones.

- Widening what may be sent breaks: a property removed (absent from now on, or back with any value), a
  required property becoming optional, a new type in a union (`int` -> `int | None`, `int` ->
  `float`), an enum value added, a const changed, a bound relaxed (`maximum` raised, `maxLength`
  raised, `minimum` lowered, ...), a `format` or `pattern` changed or dropped, `uniqueItems` dropped.
- Narrowing it does not: a type dropped from a union, a property becoming required, a new required
  or optional property on an open object, a bound tightened, a `format` or `pattern` added. Those
  could only break a writer, and the one writer of an event is the service producing it, released
  with the change.
- `additionalProperties`: an open object (the keyword absent or `true`, pydantic's default
  `extra="ignore"`) tells readers to expect properties they do not know, so it may gain properties.
  A closed one (`false`, pydantic's `extra="forbid"`) promised that nothing else appears: adding a
  property to it, or opening it, breaks. Under an `additionalProperties` schema (`dict[str, X]`) a new
  value type, or a new named property the schema did not allow, breaks. Closing an object does not.

`$ref`s are resolved and `anyOf`/`oneOf` are unions (pydantic's `oneOf` comes from discriminated
unions, whose alternatives are disjoint): each proposed alternative must fit a published one of its
type, told apart by title (pydantic's model name) when there are several.
Annotations (`title`, `description`, `default`, `examples`, `discriminator`, ...) never break. A
keyword not understood here breaks whenever its value changes, to stay on the safe side.

For topics, readers rely on what is read and in which order: a topic removed, fewer partitions, a
different cleanup policy or key, and an event removed from a topic's messages break. A published file
that is no longer rendered breaks too: published versions are retired by hand, never by the render.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]

_ANYTHING: Schema = {}
_ANNOTATIONS = frozenset(
    {
        "$comment",
        "$defs",
        "$id",
        "$schema",
        "default",
        "definitions",
        "deprecated",
        "description",
        "discriminator",
        "examples",
        "readOnly",
        "title",
        "writeOnly",
    }
)
_UNDERSTOOD = frozenset(
    {
        "$ref",
        "additionalProperties",
        "anyOf",
        "const",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "oneOf",
        "pattern",
        "prefixItems",
        "properties",
        "required",
        "type",
        "uniqueItems",
    }
)
_AT_LEAST = ("minLength", "minItems", "minProperties")
_AT_MOST = ("maxLength", "maxItems", "maxProperties")
_EVENT_SCHEMA_FILE = re.compile(r"^schemas/(?P<type>.+)\.v(?P<version>\d+)\.json$")


def breaking_changes(published: Mapping[str, str], proposed: Mapping[str, str]) -> list[str]:
    """One line per change in `proposed` that breaks a reader of `published`, e.g.
    `ingestion.activity.upserted v1: data.distance_m: type number -> string`.

    Both map a file's path relative to the catalog version directory to its JSON text, as
    `relay_contracts.publish.render()` returns them. The rules are in this module's docstring.
    """
    changes: list[str] = []
    for path in sorted(published):
        label = _label(path)
        if path not in proposed:
            changes.append(f"{label}: removed")
        elif path == "topics.json":
            changes.extend(_topic_changes(json.loads(published[path]), json.loads(proposed[path])))
        elif path == "asyncapi.json":
            old, new = json.loads(published[path]), json.loads(proposed[path])
            changes.extend(_channel_changes(old, new, published))
        elif path.startswith("schemas/"):
            old, new = json.loads(published[path]), json.loads(proposed[path])
            comparison = _SchemaComparison(old, new)
            changes.extend(f"{label}: {change}" for change in comparison.changes(old, new, "", frozenset()))
    return list(dict.fromkeys(changes))


def _label(path: str) -> str:
    if match := _EVENT_SCHEMA_FILE.match(path):
        return f"{match['type']} v{match['version']}"
    if path.startswith("schemas/") and path.endswith(".json"):
        return path.removeprefix("schemas/").removesuffix(".json")
    return path


@dataclass(frozen=True)
class _Branch:
    """One alternative of a schema, of one JSON type (or `any`)."""

    type: str
    schema: Schema


class _SchemaComparison:
    def __init__(self, old_document: Schema, new_document: Schema) -> None:
        self.old_document = old_document
        self.new_document = new_document

    def changes(self, old: Any, new: Any, path: str, seen: frozenset[tuple[int, int]]) -> list[str]:
        """What `new` lets a producer send at `path` that `old` did not."""
        # Recursive models meet the same pair of schema nodes again further down; the pair is
        # compared where it was first met.
        pair = (id(old), id(new))
        if pair in seen:
            return []
        seen = seen | {pair}
        old_branches = _branches(old, self.old_document)
        new_branches = _branches(new, self.new_document)
        changes: list[str] = []
        retyped = False
        for branch in new_branches:
            candidates = [o for o in old_branches if _fits(branch.type, o.type)]
            if not candidates:
                retyped = True
                continue
            trials = [self._branch_changes(o.schema, branch.schema, path, seen) for o in candidates]
            if any(not trial for trial in trials):
                continue
            # Among several alternatives of one type (a discriminated union), a changed one is told
            # apart by its model's title; one with a title not published before is new.
            title = branch.schema.get("title")
            namesakes = [t for o, t in zip(candidates, trials, strict=True) if o.schema.get("title") == title]
            if len(trials) == 1:
                changes.extend(trials[0])
            elif namesakes:
                changes.extend(namesakes[0])
            else:
                changes.append(_at(path, f"new alternative {title or branch.type}"))
        if retyped:
            changes.insert(0, _at(path, f"type {_types(old_branches)} -> {_types(new_branches)}"))
        return list(dict.fromkeys(changes))

    def _branch_changes(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[int, int]]
    ) -> list[str]:
        changes = [_at(path, change) for change in _keyword_changes(old, new)]
        changes.extend(self._object_changes(old, new, path, seen))
        changes.extend(self._array_changes(old, new, path, seen))
        return changes

    def _object_changes(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[int, int]]
    ) -> Iterator[str]:
        old_properties: Schema = old.get("properties", {})
        new_properties: Schema = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        for name, schema in old_properties.items():
            where = _join(path, name)
            if name not in new_properties:
                yield f"{where}: property removed"
                continue
            if name in old_required and name not in new_required:
                yield f"{where}: required -> optional"
            yield from self.changes(schema, new_properties[name], where, seen)
        for name, schema in new_properties.items():
            if name in old_properties:
                continue
            if old_extra is False:
                yield f"{_join(path, name)}: property added to a closed object"
            elif isinstance(old_extra, Mapping):
                yield from self.changes(old_extra, schema, _join(path, name), seen)
        if old_extra is False and new_extra is not False:
            yield _at(path, f"additionalProperties false -> {_extra(new_extra)}")
        elif isinstance(old_extra, Mapping) and new_extra is not False:
            yield from self.changes(old_extra, new_extra, _join(path, "*"), seen)

    def _array_changes(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[int, int]]
    ) -> Iterator[str]:
        old_prefix: list[Any] = old.get("prefixItems", [])
        new_prefix: list[Any] = new.get("prefixItems", [])
        old_rest, new_rest = old.get("items", True), new.get("items", True)
        for index in range(max(len(old_prefix), len(new_prefix))):
            old_item = old_prefix[index] if index < len(old_prefix) else old_rest
            new_item = new_prefix[index] if index < len(new_prefix) else new_rest
            yield from self.changes(old_item, new_item, f"{path}[{index}]", seen)
        if old_rest is not True:
            yield from self.changes(old_rest, new_rest, f"{path}[]", seen)


def _branches(schema: Any, document: Schema) -> list[_Branch]:
    """The alternatives of a schema, with `$ref`s resolved, unions flattened and types split."""
    if schema is True:
        return [_Branch("any", _ANYTHING)]
    if schema is False:
        return []
    if "$ref" in schema:
        # pydantic puts only annotations beside a `$ref`; the referenced model's own title wins.
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return _branches({**siblings, **_resolve(document, schema["$ref"])}, document)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            rest = {key: value for key, value in schema.items() if key != union}
            return [
                branch
                for alternative in schema[union]
                for branch in _branches({**rest, **alternative}, document)
            ]
    declared = schema.get("type")
    if isinstance(declared, str):
        return [_Branch(declared, schema)]
    if isinstance(declared, list):
        return [_Branch(json_type, {**schema, "type": json_type}) for json_type in declared]
    values = _allowed_values(schema)
    if values is None:
        return [_Branch("any", schema)]
    json_types = list(dict.fromkeys(_json_type(value) for value in values))
    if len(json_types) == 1:
        return [_Branch(json_types[0], schema)]
    rest = {key: value for key, value in schema.items() if key not in ("const", "enum")}
    return [
        _Branch(json_type, {**rest, "enum": [v for v in values if _json_type(v) == json_type]})
        for json_type in json_types
    ]


def _resolve(document: Schema, ref: str) -> Schema:
    if not ref.startswith("#"):
        raise ValueError(f"cannot resolve {ref!r}: only references within the document are published")
    node: Any = document
    for part in ref[1:].split("/")[1:]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    resolved: Schema = node
    return resolved


def _fits(new_type: str, old_type: str) -> bool:
    return old_type in ("any", new_type) or (new_type, old_type) == ("integer", "number")


def _types(branches: list[_Branch]) -> str:
    return " | ".join(dict.fromkeys(branch.type for branch in branches)) or "nothing"


def _keyword_changes(old: Schema, new: Schema) -> Iterator[str]:
    """The changes of one alternative's own keywords (not of its properties or items)."""
    yield from _value_changes(old, new)
    yield from _range_changes(old, new, lower=True)
    yield from _range_changes(old, new, lower=False)
    for keyword in _AT_LEAST:
        if keyword in old and new.get(keyword, 0) < old[keyword]:
            yield f"{keyword} {old[keyword]} -> {new.get(keyword, 'none')}"
    for keyword in _AT_MOST:
        if keyword in old and new.get(keyword, float("inf")) > old[keyword]:
            yield f"{keyword} {old[keyword]} -> {new.get(keyword, 'none')}"
    for keyword in ("format", "pattern"):
        if keyword in old and new.get(keyword) != old[keyword]:
            yield f"{keyword} {old[keyword]} -> {new.get(keyword, 'none')}"
    if old.get("uniqueItems") is True and new.get("uniqueItems") is not True:
        yield "uniqueItems true -> false"
    if "multipleOf" in old and not _is_multiple(new.get("multipleOf"), old["multipleOf"]):
        yield f"multipleOf {old['multipleOf']} -> {new.get('multipleOf', 'none')}"
    for keyword in sorted((old.keys() | new.keys()) - _UNDERSTOOD - _ANNOTATIONS):
        if old.get(keyword) != new.get(keyword):
            yield f"{keyword} changed"


def _allowed_values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _value_changes(old: Schema, new: Schema) -> Iterator[str]:
    old_values = _allowed_values(old)
    if old_values is None:
        return
    new_values = _allowed_values(new)
    if new_values is None:
        keyword = "const" if len(old_values) == 1 else "enum"
        shown = _dump(old_values[0]) if keyword == "const" else _dump(old_values)
        yield f"{keyword} {shown} -> any value"
        return
    known = {_dump(value) for value in old_values}
    added = [value for value in new_values if _dump(value) not in known]
    if not added:
        return
    if len(old_values) == 1 and len(new_values) == 1:
        yield f"const {_dump(old_values[0])} -> {_dump(new_values[0])}"
    else:
        yield "enum adds " + ", ".join(_dump(value) for value in added)


def _range_changes(old: Schema, new: Schema, *, lower: bool) -> Iterator[str]:
    old_bound = _bound(old, lower=lower)
    if old_bound is None:
        return
    new_bound = _bound(new, lower=lower)
    if new_bound is None:
        shown = "none"
    elif _tightness(new_bound, lower=lower) >= _tightness(old_bound, lower=lower):
        return
    else:
        shown = (
            _dump(new_bound[1]) if new_bound[0] == old_bound[0] else f"{new_bound[0]} {_dump(new_bound[1])}"
        )
    yield f"{old_bound[0]} {_dump(old_bound[1])} -> {shown}"


def _bound(schema: Schema, *, lower: bool) -> tuple[str, Any] | None:
    """The tighter of a schema's inclusive and exclusive bound on one side, as (keyword, value)."""
    keywords = ("minimum", "exclusiveMinimum") if lower else ("maximum", "exclusiveMaximum")
    bounds = [(keyword, schema[keyword]) for keyword in keywords if keyword in schema]
    return max(bounds, key=lambda bound: _tightness(bound, lower=lower)) if bounds else None


def _tightness(bound: tuple[str, Any], *, lower: bool) -> tuple[Any, bool]:
    """Orders bounds on one side from the loosest to the tightest; at one value, exclusive is tighter."""
    keyword, value = bound
    return (value if lower else -value, keyword.startswith("exclusive"))


def _is_multiple(value: Any, of: Any) -> bool:
    if value is None:
        return False
    if value == of:
        return True
    return isinstance(value, int) and isinstance(of, int) and value % of == 0


def _topic_changes(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> Iterator[str]:
    proposed = {topic["name"]: topic for topic in new}
    for topic in old:
        name = topic["name"]
        if name not in proposed:
            yield f"topic {name}: removed"
            continue
        yield from _setting_changes(name, _topic_settings(topic), _topic_settings(proposed[name]))


def _topic_settings(topic: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "partitions": topic.get("partitions"),
        "cleanup.policy": topic.get("cleanup_policy"),
        "key": topic.get("key"),
    }


def _setting_changes(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    """A topic's settings its readers rely on; fewer partitions would reorder a key's messages."""
    old_partitions, new_partitions = old.get("partitions"), new.get("partitions")
    if old_partitions is not None and (new_partitions is None or new_partitions < old_partitions):
        yield f"topic {name}: partitions {old_partitions} -> {_dump(new_partitions)}"
    if old.get("cleanup.policy") != new.get("cleanup.policy"):
        yield f"topic {name}: cleanup.policy {old.get('cleanup.policy')} -> {new.get('cleanup.policy')}"
    if "key" in old and old["key"] != new.get("key"):
        yield f"topic {name}: key {_dump(old['key'])} -> {_dump(new.get('key'))}"


def _channel_changes(old: Schema, new: Schema, published: Mapping[str, str]) -> Iterator[str]:
    proposed = {channel["address"]: channel for channel in new.get("channels", {}).values()}
    old_messages: Schema = old.get("components", {}).get("messages", {})
    for channel in old.get("channels", {}).values():
        address = channel["address"]
        if address not in proposed:
            yield f"topic {address}: removed"
            continue
        yield from _setting_changes(address, _channel_settings(channel), _channel_settings(proposed[address]))
        for message_id in channel.get("messages", {}):
            if message_id in proposed[address].get("messages", {}):
                continue
            message = old_messages.get(message_id, {})
            payload = message.get("payload", {}).get("$ref")
            # A message whose schema file was deleted by hand is a version deliberately retired.
            if payload is None or payload in published:
                yield f"topic {address}: message {message.get('title', message_id)} removed"


def _channel_settings(channel: Schema) -> dict[str, Any]:
    kafka = channel.get("bindings", {}).get("kafka", {})
    policy = kafka.get("topicConfiguration", {}).get("cleanup.policy")
    return {
        "partitions": kafka.get("partitions"),
        "cleanup.policy": ",".join(policy) if isinstance(policy, list) else policy,
    }


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _extra(value: Any) -> str:
    return "true" if value is True else _dump(value)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _at(path: str, change: str) -> str:
    return f"{path}: {change}" if path else change
