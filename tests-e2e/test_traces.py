"""One athlete's story is one trace: Strava's webhook reaches ingestion, which fetches the ride (with a
token from connections) and stores it; planning matches it to the planned ride and completes it; export
pushes the next training day's workouts to the athlete's COROS watch; the audit trail records every step.
The spans the services exported and every log line of the story carry the same trace id."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import httpx

from relay_devstack import Stack
from relay_testing.otlp import CollectedSpan, SpanCollector

from .conftest import Databases
from .test_export import fake_providers
from .test_identity import eventually
from .test_ingestion import strava_of, webhook
from .test_planning import PARIS, ok, onboard, paris_today

STORY_EVENTS = {
    "ingestion.webhook.received",
    "connections.access_token.issued",
    "ingestion.activity.upserted",
    "planning.session.completed",
    "export.workout.exported",
}
STORY_SERVICES = {"ingestion", "connections", "planning", "export", "audit"}


def ride_and_next_day(sessions: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ride after today, the only one of its day, and the sessions of the next training day after it."""
    today = paris_today().isoformat()
    rides = [s for s in sessions if s["sport"] == "bike"]
    for ride in rides:
        day = ride["scheduled_date"]
        if day <= today or [r["scheduled_date"] for r in rides].count(day) > 1:
            continue
        later = sorted(s["scheduled_date"] for s in sessions if s["scheduled_date"] > day)
        if later:
            return ride, [s for s in sessions if s["scheduled_date"] == later[0]]
    raise AssertionError(
        f"no ride of week 1 is alone on a day after today with a session after it: {sessions}"
    )


def one_tree(spans: list[CollectedSpan]) -> bool:
    """One root, and every other span's parent among the spans: nothing of the story started a trace of
    its own or lost its parent on the way."""
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if span.parent_span_id is None]
    return len(roots) == 1 and all(span.parent_span_id in ids for span in spans if span not in roots)


def log_lines(stack: Stack) -> list[tuple[str, dict[str, Any], str]]:
    """Every JSON log line the stack's services wrote: (service, line, raw text)."""
    lines = []
    for path in stack.logs.glob(f"*{stack.config.database_suffix}.log"):
        for raw in path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                line = json.loads(raw)
                lines.append((str(line.get("service")), line, raw))
    return lines


async def test_a_rides_story_from_webhook_to_watch_is_one_trace_in_spans_logs_and_audit_trail(
    gateway: httpx.AsyncClient, stack: Stack, databases: Databases, exported_spans: SpanCollector
) -> None:
    athlete_id = random.randint(10**7, 10**8)
    token, program = await onboard(gateway, stack, athlete_id)
    coros = fake_providers(stack)
    email, password = f"lou.{athlete_id}@example.com", f"pw-{uuid.uuid4().hex[:12]}"
    await coros.add_coros_account(email, password)
    login = {"email": email, "password": password}
    await ok(gateway, "POST", "/api/providers/coros_training_hub/login", token, json=login)
    week = (await ok(gateway, "GET", f"/api/program/{program['id']}/week/1", token))["week"]
    ride, next_day = ride_and_next_day(week["sessions"])

    # Export has heard of every session of the week before the athlete opts in to automatic export.
    async def week_known_to_export() -> bool:
        found = await databases.fetchval(
            "export",
            "SELECT count(*) FROM planned_sessions WHERE session_id = ANY($1::text[])",
            [s["id"] for s in week["sessions"]],
        )
        return found == len(week["sessions"])

    assert await eventually(week_known_to_export), "export never heard of the week's sessions"
    await ok(gateway, "PUT", "/api/exports/settings", token, json={"auto_export": ["coros_training_hub"]})

    # The ride, recorded on Strava on its planned day, reaches Relay by Strava's webhook.
    start = datetime.combine(date.fromisoformat(ride["scheduled_date"]), time(7, 30), PARIS).astimezone(UTC)
    minutes = ride["duration_planned"]
    recorded = await strava_of(stack).put_activity(
        athlete_id,
        {
            "sport_type": "Ride",
            "name": "Sortie du plan",
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "moving_time": minutes * 60,
            "elapsed_time": minutes * 60 + 300,
        },
    )
    sent = await gateway.post("/api/webhook/strava", json=webhook(athlete_id, recorded["id"]))
    assert sent.status_code == 200, sent.text

    # The next training day's workouts go to the watch, because the ride completed its session.
    async def next_day_exported() -> list[dict[str, Any]]:
        exports = (await ok(gateway, "GET", "/api/exports", token))["exports"]
        mine = [e for e in exports if e["session_id"] in {s["id"] for s in next_day}]
        return mine if len(mine) == len(next_day) and all(e["status"] == "exported" for e in mine) else []

    exports = await eventually(next_day_exported)
    assert exports, "the next training day never reached the watch"
    completed = (await ok(gateway, "GET", f"/api/sessions/{ride['id']}", token))["session"]
    assert completed["status"] == "completed", completed

    # The audit trail: the webhook's trace runs through every step of the story.
    trace_id = await databases.fetchval(
        "audit",
        "SELECT trace_id FROM audit_entries WHERE event_type = 'ingestion.webhook.received' AND subject = $1",
        f"strava:{athlete_id}",
    )
    assert isinstance(trace_id, str) and len(trace_id) == 32, trace_id

    async def story_audited() -> set[str]:
        rows = await databases.fetch(
            "audit", "SELECT event_type FROM audit_entries WHERE trace_id = $1", trace_id
        )
        types = {row["event_type"] for row in rows}
        return types if types >= STORY_EVENTS else set()

    assert await eventually(story_audited, timeout=30.0), await databases.fetch(
        "audit", "SELECT event_type, trace_id FROM audit_entries WHERE trace_id = $1", trace_id
    )
    exported = await databases.fetchval(
        "audit",
        "SELECT count(*) FROM audit_entries WHERE event_type = 'export.workout.exported' AND trace_id = $1",
        trace_id,
    )
    assert exported == len(exports), "each workout pushed is in the trace"

    # The spans every service exported: one tree across HTTP and Kafka, from the webhook to the audit.
    async def spans_arrived() -> list[CollectedSpan]:
        spans = exported_spans.spans(trace_id)
        return spans if {s.service for s in spans} >= STORY_SERVICES and one_tree(spans) else []

    spans = await eventually(spans_arrived, timeout=30.0)
    received = exported_spans.spans(trace_id)
    assert spans, sorted((s.service, s.kind, s.name, s.parent_span_id or "root") for s in received)
    [root] = [s for s in spans if s.parent_span_id is None]
    assert (root.service, root.kind) == ("ingestion", "server") and "/api/webhook/strava" in root.name, root
    clients = [s for s in spans if s.kind == "client"]
    urls = [str(s.attributes.get("http.url", s.attributes.get("url.full", ""))) for s in clients]
    assert any(f"/activities/{recorded['id']}" in url for url in urls), urls  # the fetch from Strava
    assert any("/coros-hub" in url for url in urls), urls  # the push to the watch
    assert {s.service for s in spans if s.kind == "consumer"} >= {"planning", "export", "audit"}
    assert {s.service for s in spans if s.kind == "server"} >= {"ingestion", "connections"}

    # Every log line of the story carries its trace id: the lines about its ride, session and exports
    # (but the athlete's own reads of them, each a request of its own).
    story_ids = [ride["id"], *(e["id"] for e in exports), *(s["id"] for s in next_day)]
    lines = log_lines(stack)
    about_story = [
        (service, line)
        for service, line, raw in lines
        if any(i in raw for i in story_ids)
        and (line["event"], line.get("method")) != ("request_handled", "GET")
    ]
    assert {service for service, _ in about_story} >= {"planning", "export"}, about_story
    assert [line for _, line in about_story if line.get("trace_id") != trace_id] == []
    traced = {(service, line["event"]) for service, line, _ in lines if line.get("trace_id") == trace_id}
    assert {
        ("ingestion", "notification_processed"),
        ("planning", "activity_matched"),
        ("export", "next_day_queued"),
        ("export", "export_attempted"),
    } <= traced, traced
