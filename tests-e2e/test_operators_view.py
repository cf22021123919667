"""The operators' view against the real stack: a real Prometheus scrapes every service of the end-to-end
stack with the rule files of deploy/prometheus/rules, while an athlete signs in, gets a ride through a
Strava webhook and pushes a workout to COROS, providers' webhooks arrive (one of them forged), a request
without a token is refused and a broken message is dead-lettered. Then every query of every Grafana
dashboard and every rule's expression answers with data, every rule evaluates without error, and the
dead letter fires its alert."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from relay_devstack import Stack
from relay_devstack.prometheus import LocalPrometheus
from relay_devstack.stack import DEV_WEBHOOK_SECRET, FAKE_PROVIDERS_CLIENT_ID

from .conftest import device_client
from .test_connections import bearer
from .test_export import fake_providers, fit_of, upcoming_session
from .test_identity import eventually
from .test_ingestion import strava_activities, strava_of, webhook
from .test_planning import ok, onboard

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
PROMTOOL = Path("/usr/bin/promtool")  # Debian's Prometheus, installed by `make install`
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
"""What Grafana puts in place of its own variables; a dashboard's variables set to All become `.*`."""
NOT_IN_THE_DRIVE = ("relay_connections_token_refreshes_total",)
"""Events the drive does not cause (no token expires in it): a ratio of them is 0 / 0, NaN, honestly."""


# -- Prometheus on the stack ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, check=False, timeout=60)


@dataclass
class Prometheus:
    url: str
    config: Path

    async def api(self, path: str, **params: str) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=10.0) as client:
            answer = await client.get(f"/api/v1/{path}", params=params)
        body = answer.json()
        assert answer.status_code == 200 and body["status"] == "success", (path, params, answer.text)
        return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        data = await self.api("query", query=expr)
        result: list[dict[str, Any]] = data["result"] if data["resultType"] == "vector" else [data["result"]]
        return result

    async def without_data(self, expr: str) -> str | None:
        """Why `expr` answers nothing worth drawing (None when it does): no series at all, or only
        NaN (0 / 0) where the drive caused the events it divides."""
        result = await self.query(expr)
        if not result:
            return "no series"
        if all(sample["value"][1] == "NaN" for sample in result) and not any(
            name in expr for name in NOT_IN_THE_DRIVE
        ):
            return "only NaN"
        return None

    async def rules(self) -> list[dict[str, Any]]:
        groups = (await self.api("rules"))["groups"]
        return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """deploy/prometheus's configuration and rules on the e2e stack, scraped and evaluated every second."""
    local = LocalPrometheus(stack.config, tmp_path_factory.mktemp("prometheus"), free_port(), interval="1s")
    local.start()
    try:
        local.wait_scraping()
        yield Prometheus(local.url, local.home / "prometheus.yml")
    finally:
        local.stop()


# -- what an athlete, providers and a broken producer do --------------------------------------------
@dataclass
class Driven:
    started_at: float
    """When the stack was driven (Prometheus time, seconds)."""
    dead_letter_topic: str


def polar_delivery(payload: dict[str, Any], key: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "Polar-Webhook-Signature": signature}


async def export_a_workout(
    gateway: httpx.AsyncClient, stack: Stack, token: str, program: dict[str, Any]
) -> None:
    """Links COROS Training Hub and pushes the next session's workout there."""
    email, password = f"ops.{uuid.uuid4().hex[:8]}@example.com", f"pw-{uuid.uuid4().hex[:12]}"
    await fake_providers(stack).add_coros_account(email, password)
    body = {"email": email, "password": password}
    await ok(gateway, "POST", "/api/providers/coros_training_hub/login", token, json=body)
    session_id = (await upcoming_session(gateway, token, program["id"]))["id"]
    await fit_of(gateway, token, session_id)
    asked = await gateway.post(
        f"/api/sessions/{session_id}/export", json={"provider": "coros_training_hub"}, headers=bearer(token)
    )
    assert asked.status_code == 202, asked.text

    async def exported() -> bool:
        export = await ok(gateway, "GET", f"/api/exports/{asked.json()['id']}", token)
        return bool(export["status"] == "exported")

    assert await eventually(exported, timeout=30), "the workout was never pushed"


async def ride_through_a_webhook(
    gateway: httpx.AsyncClient, stack: Stack, athlete_id: int, token: str
) -> None:
    strava = strava_of(stack)
    start = (datetime.now(UTC) - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ride = await strava.put_activity(
        athlete_id, {"sport_type": "Ride", "name": "Ops ride", "start_date": start}
    )
    sent = await gateway.post("/api/webhook/strava", json=webhook(athlete_id, ride["id"]))
    assert sent.status_code == 200, sent.text

    async def arrived() -> bool:
        names = [a["name"] for a in (await strava_activities(gateway, token, limit=5))["activities"]]
        return "Ops ride" in names

    assert await eventually(arrived, timeout=30), "the webhook's ride never arrived"


async def other_providers_webhooks(gateway: httpx.AsyncClient) -> None:
    exercise = {
        "event": "EXERCISE",
        "user_id": 4750,
        "entity_id": "aQlC83",
        "timestamp": "2026-12-01T07:44:12Z",
    }
    body, headers = polar_delivery(exercise, DEV_WEBHOOK_SECRET)
    assert (await gateway.post("/api/webhooks/polar", content=body, headers=headers)).status_code == 200
    body, headers = polar_delivery(exercise, "a-key-that-is-not-relays")
    assert (await gateway.post("/api/webhooks/polar", content=body, headers=headers)).status_code == 401
    garmin = {"dailies": [{"userId": "4aacafe8", "summaryId": "x153a9f3", "calendarDate": "2026-12-01"}]}
    answer = await gateway.post(
        "/api/webhooks/garmin", json=garmin, headers={"garmin-client-id": FAKE_PROVIDERS_CLIENT_ID}
    )
    assert answer.status_code == 200, answer.text


async def dead_letter(stack: Stack) -> str:
    """A message no consumer can read, on a topic the audit trail consumes."""
    topic = f"{stack.config.topic_prefix}relay.export.events"
    producer = AIOKafkaProducer(bootstrap_servers=stack.config.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"not": "an envelope"', key=b"operators-view")
    finally:
        await producer.stop()
    return topic


@pytest.fixture(scope="module")
async def driven(stack: Stack, prometheus: Prometheus) -> Driven:
    started_at = time.time()
    async with device_client(stack) as gateway:
        athlete_id = random.randint(10**7, 10**8)
        await strava_of(stack).add_history(athlete_id, 3, end=datetime.now(UTC) - timedelta(hours=3), seed=21)
        token, program = await onboard(gateway, stack, athlete_id)
        await asyncio.gather(
            export_a_workout(gateway, stack, token, program),
            ride_through_a_webhook(gateway, stack, athlete_id, token),
            other_providers_webhooks(gateway),
        )
        assert (await gateway.get("/api/auth/me")).status_code == 401
        topic = await dead_letter(stack)
        # The same reads again once Prometheus has seen the first: each service's API rates are not 0 / 0.
        reads = ("/api/auth/me", "/api/providers/connections", "/api/strava/activities", "/api/exports")
        for _ in range(2):
            await asyncio.sleep(1.2)
            for path in (*reads, f"/api/program/{program['id']}/week/1", "/api/audit-trail"):
                assert (await gateway.get(path, headers=bearer(token))).status_code == 200, path
    # Everything is scraped and every rule evaluated after it happened.
    await asyncio.sleep(3)
    return Driven(started_at, topic)


# -- what is checked ----------------------------------------------------------------------------------
def test_promtool_accepts_the_rules_and_both_configurations(prometheus: Prometheus) -> None:
    for args in (
        ("check", "rules", *sorted(str(p) for p in (ROOT / "deploy/prometheus/rules").glob("*.yml"))),
        ("check", "config", str(PROMETHEUS_CONFIG)),
        ("check", "config", str(prometheus.config)),
    ):
        checked = promtool(*args)
        assert checked.returncode == 0, (args, checked.stdout, checked.stderr)


def dashboard_queries() -> list[tuple[str, str]]:
    """Every target of every panel of every dashboard, as Grafana sends it with its variables at All."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        variables = [variable["name"] for variable in board["templating"]["list"]]
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for name, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(name, value)
                for name in variables:
                    expr = expr.replace(f"${name}", ".*")
                queries.append((f"{board['uid']}: {panel['title']} ({target['refId']})", expr))
    return queries


async def test_every_dashboard_query_returns_data(prometheus: Prometheus, driven: Driven) -> None:
    queries = dashboard_queries()
    assert len(queries) > 40

    empty = [
        f"{where}: {why}: {expr}" for where, expr in queries if (why := await prometheus.without_data(expr))
    ]

    assert not empty, "\n".join(empty)


def comparands(expr: str) -> list[str]:
    """The operands an alert's expression compares to thresholds: each side of `and` / `or` / `unless`
    taken apart, then each comparison's left-hand side."""
    parts, depth, quoted, start, index = [], 0, False, 0, 0
    while index < len(expr):
        char = expr[index]
        if char == '"' and expr[index - 1] != "\\":
            quoted = not quoted
        elif not quoted and char in "({[":
            depth += 1
        elif not quoted and char in ")}]":
            depth -= 1
        elif not quoted and depth == 0:
            joined = re.match(r"\s(and|or|unless)\s", expr[index:])
            compared = re.match(r"(==|!=|>=|<=|>|<)", expr[index:])
            if joined:
                parts.append(expr[start:index])
                index += joined.end()
                start = index
                continue
            if compared:
                parts.append(expr[start:index])
                # Skip the right-hand side: the threshold, up to the next `and` / `or` / `unless`.
                rest = re.search(r"\s(and|or|unless)\s", expr[index:])
                index = index + rest.start() if rest else len(expr)
                start = index
                continue
        index += 1
    parts.append(expr[start:])
    operands = [part.strip() for part in parts]
    return [operand for operand in operands if operand and not re.fullmatch(r"[\d.\s()*+-/]+", operand)]


def test_the_comparands_of_an_alert_are_its_left_hand_sides() -> None:
    assert comparands('up{service!=""} == 0') == ['up{service!=""}']
    assert comparands('a{x="1"} > (14.4 * 0.001)\nand\nb{x=">"} > (6 * 0.001)') == ['a{x="1"}', 'b{x=">"}']
    assert comparands("sum by (s) (rate(c[5m])) / sum by (s) (rate(d[5m])) > 0.5") == [
        "sum by (s) (rate(c[5m])) / sum by (s) (rate(d[5m]))"
    ]


async def test_every_rule_evaluates_without_error_and_every_expression_returns_data(
    prometheus: Prometheus, driven: Driven
) -> None:
    rules = await prometheus.rules()
    assert {rule["type"] for rule in rules} == {"recording", "alerting"} and len(rules) > 30

    async def evaluated_since_driven() -> list[dict[str, Any]]:
        found = await prometheus.rules()
        last = [datetime.fromisoformat(rule["lastEvaluation"][:26]).timestamp() for rule in found]
        return found if min(last) > driven.started_at else []

    rules = await eventually(evaluated_since_driven, timeout=20)
    assert rules, "the rules were not evaluated since the stack was driven"
    unhealthy = [
        f"{rule['name']}: {rule['health']} {rule.get('lastError')}"
        for rule in rules
        if rule["health"] != "ok"
    ]
    assert not unhealthy, unhealthy

    empty = []
    for rule in rules:
        if rule["type"] == "recording":
            selector = (
                rule["name"] + "{" + ", ".join(f'{k}="{v}"' for k, v in rule.get("labels", {}).items()) + "}"
            )
            checked = [rule["query"], selector]
        else:
            checked = comparands(rule["query"])
        assert checked, rule["name"]
        empty += [f"{rule['name']}: {why}: {e}" for e in checked if (why := await prometheus.without_data(e))]
    assert not empty, "\n".join(empty)


async def test_a_dead_lettered_message_fires_its_alert(prometheus: Prometheus, driven: Driven) -> None:
    async def firing() -> list[dict[str, Any]]:
        alerts = (await prometheus.api("alerts"))["alerts"]
        return [
            alert
            for alert in alerts
            if alert["labels"]["alertname"] == "DeadLettersAppearing"
            and alert["labels"].get("consumer") == "audit.trail"
            and alert["state"] == "firing"
        ]

    [alert] = await eventually(firing, timeout=30)
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["service"] == "audit"
    assert "audit.trail" in alert["annotations"]["summary"]
    assert alert["annotations"]["slo_doc"] == "deploy/prometheus/SLOs.md#dead-letters"
