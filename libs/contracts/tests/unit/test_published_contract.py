import json

from relay_contracts import EVENTS, TOPICS
from relay_contracts.compat import breaking_changes
from relay_contracts.publish import DEFAULT_OUT, published_files, render, schema_file


def test_the_committed_contract_matches_the_code() -> None:
    """Fails when an event or topic changed without `make contracts` being run and committed."""
    stale = [
        relative
        for relative, text in render().items()
        if not (DEFAULT_OUT / relative).exists() or (DEFAULT_OUT / relative).read_text() != text
    ]
    assert stale == [], f"run `make contracts` and commit: {stale}"


def test_the_code_does_not_break_what_is_published() -> None:
    """Fails when a change would break what a published version promises the readers of its events:
    publish the changed event as a new version beside the old one instead."""
    assert breaking_changes(published_files(DEFAULT_OUT), render()) == []


def test_the_asyncapi_document_lists_every_topic_and_event() -> None:
    document = json.loads(render()["asyncapi.json"])
    assert document["asyncapi"].startswith("3.")
    assert {c["address"] for c in document["channels"].values()} == {t.name for t in TOPICS}
    assert {m["name"] for m in document["components"]["messages"].values()} == {e.type for e in EVENTS}


def test_each_event_schema_pins_its_type_and_version_and_describes_its_data() -> None:
    for spec in EVENTS:
        schema = json.loads(render()[f"schemas/{schema_file(spec)}"])
        assert schema["properties"]["type"]["const"] == spec.type
        assert schema["properties"]["version"]["const"] == spec.version
        assert set(spec.data.model_fields) <= set(schema["properties"]["data"]["properties"])
