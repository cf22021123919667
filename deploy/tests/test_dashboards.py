"""The Grafana dashboards and the Prometheus rules against the code: each dashboard is one Grafana can
load (its panels on the provisioned datasource, ids unique, variables defined), the five of the
operators' view are there, every series a dashboard or a rule reads is one a service registers (or a
recording rule records), and every alert says how bad it is, what happened and where its objective is
written down."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from connections.metrics import ConnectionsMetrics
from export.sending import SenderMetrics
from identity.metrics import LoginMetrics
from ingestion.budget import BudgetMetrics
from ingestion.webhooks import WebhookMetrics
from ingestion.worker import WorkerMetrics
from relay_platform.metrics import PlatformMetrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
PROMETHEUS = ROOT / "deploy/prometheus"
SLO_DOC = PROMETHEUS / "SLOs.md"
DATASOURCE_UID = "relay-prometheus"
OPERATORS_VIEW = {"relay-overview", "relay-ingestion", "relay-connections", "relay-export", "relay-identity"}
METRIC_CLASSES = (
    PlatformMetrics,
    WorkerMetrics,
    BudgetMetrics,
    WebhookMetrics,
    SenderMetrics,
    LoginMetrics,
    ConnectionsMetrics,
)
"""Every class that registers metrics on a service's registry."""
PROMETHEUS_SERIES = frozenset({"up"})
"""Series Prometheus records itself."""
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}
PROMQL_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}
)


# -- reading the files ------------------------------------------------------------------------------
@cache
def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """The board's panels, those inside rows included."""
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_exprs() -> list[tuple[str, str]]:
    return [
        (f"{name}: {panel['title']}", target["expr"])
        for name, board in dashboards().items()
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


@cache
def rule_files() -> list[Path]:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    return sorted(path for pattern in config["rule_files"] for path in PROMETHEUS.glob(pattern))


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


@cache
def families() -> dict[str, str]:
    """The metric families the services register: name (without `_total`) and type."""
    registry = CollectorRegistry()
    for metrics in METRIC_CLASSES:
        metrics(registry)
    return {family.name: family.type for family in registry.collect()}


def registered() -> set[str]:
    """The names of every series the services' metrics appear under on /metrics."""
    return {name + suffix for name, kind in families().items() for suffix in SUFFIXES[kind]}


def series_in(expr: str) -> set[str]:
    """The series names a PromQL expression reads: what is left once strings, label matchers, ranges,
    grouping clauses, functions, keywords and numbers are taken out."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    names = set(re.findall(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()", bare))
    return {name for name in names if name not in PROMQL_KEYWORDS and not name.startswith("__")}


# -- the dashboards are Grafana's ------------------------------------------------------------------
def test_the_operators_view_has_its_five_dashboards() -> None:
    assert {board["uid"] for board in dashboards().values()} >= OPERATORS_VIEW
    assert len({board["uid"] for board in dashboards().values()}) == len(dashboards()), "uids repeat"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_a_dashboard_is_valid_grafana_json_on_the_provisioned_prometheus(name: str) -> None:
    board = dashboards()[name]
    assert board["uid"] and len(board["uid"]) <= 40 and board["title"]
    assert isinstance(board["schemaVersion"], int) and board["panels"]
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
    for panel in panels(board):
        where = f"{name}: {panel.get('title')!r}"
        assert panel["type"] in {"timeseries", "stat", "gauge", "bargauge", "table", "row"}, where
        assert panel["title"], where
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, where
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, where
        assert panel["fieldConfig"]["defaults"]["unit"], f"{where} has no unit"
        targets = panel["targets"]
        assert targets and len({t["refId"] for t in targets}) == len(targets), where
        for target in targets:
            assert target["datasource"]["uid"] == DATASOURCE_UID, where
            assert target["expr"].strip() and "legendFormat" in target, where
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == DATASOURCE_UID
        assert variable.get("allValue") == ".*", "an 'All' must stay a valid regex matcher"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_a_dashboard_uses_only_its_own_variables_and_only_in_regex_matchers(name: str) -> None:
    board = dashboards()[name]
    defined = {variable["name"] for variable in board["templating"]["list"]}
    for where, expr in dashboard_exprs():
        if not where.startswith(f"{name}:"):
            continue
        used = set(re.findall(r"\$(\w+)", expr)) - {"__rate_interval", "__interval", "__range"}
        assert used <= defined, f"{where}: undefined variables {sorted(used - defined)}"
        for variable in used:
            # A multi-value variable becomes `a|b` or `.*`: only a regex matcher takes that.
            assert not re.search(rf'[^=~!]=\s*"\${variable}"', expr), f"{where}: ${variable} needs =~"


def test_the_series_parser_finds_names_and_nothing_else() -> None:
    expr = (
        'sum by (service, le) (rate(relay_x_bucket{service=~"$service", le="1.0"}[$__rate_interval])) '
        "/ on (service) group_left () relay:y:ratio_rate5m > 0.5 and up == 0 or vector(1)"
    )
    assert series_in(expr) == {"relay_x_bucket", "relay:y:ratio_rate5m", "up"}


# -- what they read exists ----------------------------------------------------------------------------
def test_every_series_the_dashboards_and_the_rules_read_is_registered_or_recorded() -> None:
    known = registered() | recorded() | PROMETHEUS_SERIES
    read = [(where, expr) for where, expr in dashboard_exprs()]
    read += [(rule.get("alert") or rule["record"], rule["expr"]) for rule in rules()]
    unknown = {f"{where}: {name}" for where, expr in read for name in series_in(expr) - known}
    assert not unknown, sorted(unknown)
    used = {name for _, expr in read for name in series_in(expr)}
    assert {"relay_kafka_consumer_lag", "relay_ingestion_webhooks_total", "up"} <= used


def test_no_metric_has_a_label_prometheus_sets_on_every_scraped_series() -> None:
    # Prometheus would rename such a label `exported_<name>`, and queries on it would find nothing.
    registry = CollectorRegistry()
    for metrics in METRIC_CLASSES:
        metrics(registry)
    clashing = {
        name: sorted(set(collector._labelnames) & {"job", "instance", "service"})  # type: ignore[attr-defined]
        for name, collector in registry._names_to_collectors.items()
        if set(getattr(collector, "_labelnames", ())) & {"job", "instance", "service"}
    }
    assert not clashing, clashing


def test_every_metric_the_code_declares_is_in_a_registered_class() -> None:
    declared = {
        name
        for source in (*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("libs/platform/src/**/*.py"))
        for name in re.findall(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"(relay_\w+)"', source.read_text())
    }
    assert declared, "no metric found in the sources"
    missing = {name for name in declared if name.removesuffix("_total") not in families()}
    assert not missing, f"add their class to METRIC_CLASSES: {sorted(missing)}"


# -- the rules ------------------------------------------------------------------------------------------
def test_prometheus_loads_every_rule_file_and_compose_mounts_them_where_it_looks() -> None:
    assert {path.name for path in rule_files()} == {
        path.name for path in (PROMETHEUS / "rules").glob("*.yml")
    }
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volumes = [volume.split(":") for volume in compose["services"]["prometheus"]["volumes"]]
    targets = {source: target for source, target, *_ in volumes}
    config = targets["./deploy/prometheus/prometheus.yml"]
    for pattern in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["rule_files"]:
        # Relative to the configuration file, inside the container as here.
        assert not pattern.startswith("/")
        folder = str(Path(config).parent / Path(pattern).parent)
        assert targets.get("./deploy/prometheus/rules") == folder, f"{pattern} is not mounted at {folder}"


@pytest.mark.parametrize("alert", [rule["alert"] for rule in alerts()])
def test_an_alert_has_a_severity_a_summary_a_description_and_its_slo_doc(alert: str) -> None:
    [rule] = [rule for rule in alerts() if rule["alert"] == alert]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"] and annotations["runbook"]
    doc, _, anchor = annotations["slo_doc"].partition("#")
    assert doc == "deploy/prometheus/SLOs.md" and f'<a id="{anchor}"></a>' in SLO_DOC.read_text()
    assert f"`{alert}`" in SLO_DOC.read_text() or alert.removesuffix("FastBurn").removesuffix("SlowBurn") in (
        SLO_DOC.read_text()
    )


def test_every_objective_has_its_indicators_a_fast_and_a_slow_burn_alert_and_a_section() -> None:
    slos = {
        rule["labels"]["slo"] for rule in rules() if rule.get("record") == "relay:slo_errors:ratio_rate1h"
    }
    assert slos == {
        "webhook-acceptance",
        "ingestion-freshness",
        "export-success",
        "api-availability",
        "api-latency",
    }
    windows = {
        (rule["labels"]["slo"], rule["record"].rpartition("rate")[2])
        for rule in rules()
        if rule.get("record", "").startswith("relay:slo_errors:")
    }
    assert windows == {(slo, window) for slo in slos for window in ("5m", "30m", "1h", "6h")}
    burns = {(rule["labels"].get("slo"), rule["labels"]["severity"]) for rule in alerts()}
    for slo in slos:
        assert {(slo, "critical"), (slo, "warning")} <= burns, slo
        assert f'<a id="{slo}"></a>' in SLO_DOC.read_text()
