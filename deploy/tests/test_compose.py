"""docker-compose.yml cannot run where there is no Docker engine: these tests keep it, and the files
it mounts, consistent with the code instead. They read each service's settings class (field names,
env prefix, required fields), the gateway template's placeholders, the Kafka version of the local
stack and the platform's metrics, so that renaming any of them breaks a test here rather than a
`docker compose up` somewhere else."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from relay_platform.metrics import PlatformMetrics

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy/docker/Dockerfile"
GATEWAY_TEMPLATE = ROOT / "deploy/gateway/nginx.conf.template"
POSTGRES_INIT = ROOT / "deploy/compose/postgres-init.sh"
PROMETHEUS_CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
OTEL_CONFIG = ROOT / "deploy/otel/collector.yaml"
GRAFANA_PROVISIONING = ROOT / "deploy/grafana/provisioning"
GRAFANA_DASHBOARDS = ROOT / "deploy/grafana/dashboards"
KAFKA_POM = ROOT / "deploy/local/kafka/pom.xml"

SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "pyproject.toml").is_file())
# Hosts a container may name without them being compose services: itself.
SELF_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0"})  # noqa: S104


# -- reading the files --------------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def containers() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def container(name: str) -> dict[str, Any]:
    assert name in containers(), f"docker-compose.yml has no service {name!r}"
    return containers()[name]


def environment(name: str) -> dict[str, str]:
    """A container's environment, from either compose form (mapping or KEY=VALUE list)."""
    env = container(name).get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def command(name: str) -> list[str]:
    cmd = container(name).get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def depends_on(name: str) -> dict[str, str]:
    """{dependency: condition}, from either compose form (list or mapping)."""
    deps = container(name).get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {dep: (spec or {}).get("condition", "service_started") for dep, spec in deps.items()}


def mounts(name: str) -> dict[str, str]:
    """{host path relative to the repository root: container path} of a container's bind mounts."""
    found = {}
    for volume in container(name).get("volumes") or []:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            found[str((ROOT / source).resolve().relative_to(ROOT))] = target
    return found


_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")


def interpolate(value: str) -> str:
    """What compose makes of a value when none of the variables is set: `${X:-default}` gives its
    default, `$$` a literal `$`; a variable without a default would be empty, so it fails here."""
    parts = value.split("$$")

    def default(match: re.Match[str]) -> str:
        assert match["op"], f"{match[0]} in {value!r} has no default: `docker compose up` needs it set"
        return match["default"]

    resolved = [_INTERPOLATION.sub(default, part) for part in parts]
    assert not any("$" in part for part in resolved), f"unsupported interpolation in {value!r}"
    return "$".join(resolved)


def settings_class(service: str) -> type[BaseSettings]:
    cls: type[BaseSettings] = importlib.import_module(f"{service}.config").Settings
    return cls


def env_prefix(service: str) -> str:
    return str(settings_class(service).model_config["env_prefix"])


def service_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> BaseSettings:
    """The service's Settings as its container would build them from the compose environment."""
    prefix = env_prefix(service)
    for key in list(os.environ):
        if key.upper().startswith(prefix):
            monkeypatch.delenv(key)
    for key, value in environment(service).items():
        monkeypatch.setenv(key, interpolate(value))
    return settings_class(service)()


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def template_placeholders() -> set[str]:
    """The `${NAME}` placeholders the gateway template uses (outside its comments)."""
    lines = [line for line in GATEWAY_TEMPLATE.read_text().splitlines() if not line.lstrip().startswith("#")]
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", "\n".join(lines)))


@cache
def prometheus_jobs() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(GRAFANA_DASHBOARDS.glob("*.json"))}


def walk(node: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in a JSON document."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in walk(v, key)]
    if isinstance(node, list):
        return [x for item in node for x in walk(item, key)]
    return []


# -- the system is complete -----------------------------------------------------------------------
def test_services_are_found_in_the_repository() -> None:
    assert len(SERVICES) >= 6, SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_container_a_migration_one_shot_and_a_scrape_job(service: str) -> None:
    assert service in containers(), f"no compose service {service!r}"
    assert f"migrate-{service}" in containers(), f"no compose one-shot 'migrate-{service}'"
    assert service in prometheus_jobs(), f"no Prometheus scrape job {service!r}"


def test_no_container_depends_on_or_addresses_a_container_that_does_not_exist() -> None:
    names = set(containers())
    problems = [f"{name} depends on {dep}" for name in names for dep in depends_on(name) if dep not in names]
    for name in names:
        for key, raw in environment(name).items():
            value = interpolate(raw)
            if "://" in value:
                hosts = [urlsplit(value).hostname or "0.0.0.0"]  # noqa: S104 - `PLAINTEXT://:9092` binds all
            elif key.endswith(("_BOOTSTRAP_SERVERS", "_UPSTREAM")):
                hosts = [host_port(address)[0] for address in value.split(",")]
            else:
                continue
            problems += [f"{name}: {key} -> {host}" for host in hosts if host not in names | SELF_HOSTS]
    for job in prometheus_jobs().values():
        for static in job.get("static_configs", []):
            problems += [
                f"prometheus job {job['job_name']} -> {target}"
                for target in static["targets"]
                if host_port(target)[0] not in names | SELF_HOSTS
            ]
    assert not problems, problems


# -- each service gets exactly the settings its code reads --------------------------------------
@pytest.mark.parametrize("name", [n for s in SERVICES for n in (s, f"migrate-{s}")])
def test_container_environment_names_only_real_settings_of_its_service(name: str) -> None:
    service = name.removeprefix("migrate-")
    prefix, fields = env_prefix(service), settings_class(service).model_fields
    assert prefix == f"{service.upper()}_"
    unknown = [
        key
        for key in environment(name)
        if not key.startswith(prefix) or not names_a_field(fields, key[len(prefix) :].lower())
    ]
    assert not unknown, f"{name}: not settings of {service} (prefix {prefix}): {unknown}"


def names_a_field(fields: dict[str, Any], name: str) -> bool:
    """Whether `name` is a setting, `outer__inner` naming a field of a nested settings model."""
    outer, _, inner = name.partition("__")
    if outer not in fields:
        return False
    if not inner:
        return True
    model = fields[outer].annotation
    return (
        isinstance(model, type) and issubclass(model, BaseModel) and names_a_field(model.model_fields, inner)
    )


@pytest.mark.parametrize("name", [n for s in SERVICES for n in (s, f"migrate-{s}")])
def test_container_environment_provides_every_required_setting(name: str) -> None:
    service = name.removeprefix("migrate-")
    prefix = env_prefix(service)
    required = [field for field, info in settings_class(service).model_fields.items() if info.is_required()]
    missing = [
        f"{prefix}{field.upper()}"
        for field in required
        if f"{prefix}{field.upper()}" not in environment(name)
    ]
    assert not missing, f"{name} lacks required settings: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_service_settings_accept_the_compose_environment(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Any = service_settings(service, monkeypatch)
    assert settings.http_host == "0.0.0.0"  # noqa: S104 - reachable from the other containers
    assert settings.otel_traces_exporter == "otlp"


@pytest.mark.parametrize("service", SERVICES)
def test_healthcheck_gateway_and_prometheus_use_the_port_the_service_listens_on(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Any = service_settings(service, monkeypatch)
    port = settings.http_port
    healthcheck = " ".join(container(service)["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in healthcheck
    assert environment("gateway")[f"{service.upper()}_UPSTREAM"] == f"{service}:{port}"
    assert [t for s in prometheus_jobs()[service]["static_configs"] for t in s["targets"]] == [
        f"{service}:{port}"
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_after_its_migrations_the_topics_kafka_and_redis(service: str) -> None:
    assert command(service) == ["python", "-m", service]
    expected = {
        f"migrate-{service}": "service_completed_successfully",
        "topics": "service_completed_successfully",
        "kafka": "service_healthy",
        "redis": "service_healthy",
    }
    assert {dep: depends_on(service).get(dep) for dep in expected} == expected


@pytest.mark.parametrize("service", SERVICES)
def test_migration_one_shot_upgrades_the_service_database_to_head(service: str) -> None:
    alembic_ini = f"services/{service}/alembic.ini"
    assert (ROOT / alembic_ini).is_file()
    assert command(f"migrate-{service}") == ["alembic", "-c", alembic_ini, "upgrade", "head"]
    assert depends_on(f"migrate-{service}") == {"postgres": "service_healthy"}
    assert container(f"migrate-{service}").get("restart") == "no"


@pytest.mark.parametrize("service", SERVICES)
def test_migration_one_shot_reads_the_same_settings_as_its_service(service: str) -> None:
    # The service's alembic env.py builds its Settings(): same required fields, same database.
    assert environment(f"migrate-{service}") == environment(service)


@pytest.mark.parametrize("service", SERVICES)
def test_service_database_and_role_are_created_by_the_postgres_init_script(service: str) -> None:
    prefix = env_prefix(service)
    url = urlsplit(environment(service)[f"{prefix}DATABASE_URL"])
    assert url.scheme == "postgresql+asyncpg"
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, f"/relay_{service}")
    assert url.username == f"relay_{service}"
    # Same password (same compose variable and default) as the one the init script is given.
    password = re.search(r"://[^:]+:(.*)@postgres:", environment(service)[f"{prefix}DATABASE_URL"])
    assert password is not None
    assert password[1] == environment("postgres")["RELAY_DB_PASSWORD"]
    script = POSTGRES_INIT.read_text()
    loop = re.search(r"^for service in ([a-z ]+); do$", script, re.MULTILINE)
    assert loop is not None, "postgres-init.sh: expected `for service in <names>; do`"
    assert service in loop[1].split()
    assert (
        mounts("postgres")
        .get("deploy/compose/postgres-init.sh", "")
        .startswith("/docker-entrypoint-initdb.d/")
    )


def test_postgres_init_script_creates_no_database_for_a_service_that_does_not_exist() -> None:
    loop = re.search(r"^for service in ([a-z ]+); do$", POSTGRES_INIT.read_text(), re.MULTILINE)
    assert loop is not None
    assert sorted(loop[1].split()) == SERVICES


# -- gateway --------------------------------------------------------------------------------------
def test_gateway_renders_the_shared_template_with_envsubst_restricted_to_its_placeholders() -> None:
    placeholders = template_placeholders()
    assert {"GATEWAY_PORT", "GATEWAY_PREFIX", "NJS_MODULE"} <= placeholders
    template_dir = mounts("gateway").get("deploy/gateway")
    assert template_dir is not None, "deploy/gateway/ must be mounted into the gateway"
    script = " ".join(command("gateway"))
    assert f"{template_dir}/nginx.conf.template" in script
    envsubst = re.search(r"envsubst\s+'([^']*)'", script)
    assert envsubst is not None, "envsubst must be given the list of variables to replace"
    # `$$` is compose's escape for a literal `$`: the shell must receive '${NAME} ...'.
    assert set(re.findall(r"\$\$\{([A-Z0-9_]+)\}", envsubst[1])) == placeholders
    assert not set(re.sub(r"\$\$\{[A-Z0-9_]+\}", "", envsubst[1]).split())
    missing = placeholders - set(environment("gateway"))
    assert not missing, f"gateway environment lacks {sorted(missing)}"
    # js_import resolves healthz.js next to the rendered nginx.conf.
    assert "> /etc/nginx/nginx.conf" in script
    assert f"cp {template_dir}/healthz.js /etc/nginx/healthz.js" in script
    assert "daemon off;" in script
    assert "daemon" not in re.sub(r"#.*", "", GATEWAY_TEMPLATE.read_text()), (
        "the template must not set daemon"
    )


def test_gateway_upstreams_are_the_six_services_and_wait_for_them_to_be_healthy() -> None:
    upstreams = {name for name in template_placeholders() if name.endswith("_UPSTREAM")}
    assert upstreams == {f"{service.upper()}_UPSTREAM" for service in SERVICES}
    for name in upstreams:
        host, _ = host_port(environment("gateway")[name])
        assert host == name.removesuffix("_UPSTREAM").lower()
        assert host in containers()
    assert depends_on("gateway") == dict.fromkeys(SERVICES, "service_healthy")
    port = environment("gateway")["GATEWAY_PORT"]
    assert f"{port}:{port}" in container("gateway")["ports"]


# -- Kafka and topics ---------------------------------------------------------------------------
def test_compose_runs_the_same_kafka_version_as_the_local_stack() -> None:
    found = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", KAFKA_POM.read_text())
    assert found is not None, "deploy/local/kafka/pom.xml has no <kafka.version>"
    assert container("kafka")["image"] == f"apache/kafka:{found[1]}"


def test_kafka_is_a_single_node_kraft_broker_that_never_creates_topics_by_itself() -> None:
    env = environment("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert "kafka-broker-api-versions.sh" in " ".join(container("kafka")["healthcheck"]["test"])


def advertised_bootstrap() -> str:
    listeners = dict(
        listener.split("://", 1) for listener in environment("kafka")["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    return listeners["PLAINTEXT"]


def test_topics_one_shot_creates_the_manifest_topics_on_the_advertised_broker() -> None:
    assert command("topics") == [
        "python",
        "-m",
        "relay_platform.messaging",
        "ensure",
        "--bootstrap-servers",
        advertised_bootstrap(),
    ]
    assert depends_on("topics") == {"kafka": "service_healthy"}
    assert container("topics").get("restart") == "no"


@pytest.mark.parametrize("service", SERVICES)
def test_services_use_the_broker_kafka_advertises_without_a_topic_prefix(service: str) -> None:
    bootstrap = advertised_bootstrap()
    prefix = env_prefix(service)
    assert environment(service)[f"{prefix}KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    # The topics are created without a prefix: the services must not expect one.
    assert not environment(service).get(f"{prefix}KAFKA_TOPIC_PREFIX")


# -- image ----------------------------------------------------------------------------------------
def test_every_relay_container_runs_the_image_built_from_the_workspace() -> None:
    relay = ["topics", *SERVICES, *(f"migrate-{s}" for s in SERVICES)]
    images = {container(name).get("image") for name in relay}
    assert len(images) == 1, images
    for name in relay:
        build = container(name)["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_image_installs_every_workspace_member_from_the_lock_file() -> None:
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    copied = " ".join(
        line.split(maxsplit=1)[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")
    )
    for member in members:
        top = member.split("/")[0]
        assert f"{top}/" in copied, f"the Dockerfile does not copy workspace member {member}"
    assert "uv.lock" in copied
    assert "uv sync --frozen --no-dev --all-packages" in DOCKERFILE.read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".relay", ".venv"} <= set(ignored)


# -- observability --------------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_prometheus_labels_each_service_scrape_with_its_name(service: str) -> None:
    job = prometheus_jobs()[service]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert all(static.get("labels", {}).get("service") == service for static in job["static_configs"])
    assert mounts("prometheus").get("deploy/prometheus/prometheus.yml") == "/etc/prometheus/prometheus.yml"


def exported_metric_names() -> set[str]:
    """The series names the platform's metrics appear under on /metrics."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
    }
    registry = CollectorRegistry()
    PlatformMetrics(registry)
    return {family.name + suffix for family in registry.collect() for suffix in suffixes[family.type]}


def test_every_metric_in_the_overview_dashboard_is_exported_by_the_platform() -> None:
    # The services' own dashboards use the services' metrics: test_dashboards.py checks those.
    exported = exported_metric_names()
    assert "relay_http_requests_total" in exported
    used = {
        name
        for expr in walk(dashboards()["relay-overview.json"], "expr")
        for name in re.findall(r"\brelay_[a-z_]+", expr)
    }
    assert used, "no relay_ metric found in deploy/grafana/dashboards/relay-overview.json"
    assert used <= exported, f"not exported by relay_platform.metrics: {sorted(used - exported)}"


def test_dashboards_use_the_provisioned_prometheus_and_the_mounted_dashboard_folder() -> None:
    datasources = [
        source
        for path in sorted((GRAFANA_PROVISIONING / "datasources").glob("*.y*ml"))
        for source in yaml.safe_load(path.read_text())["datasources"]
    ]
    # Each datasource is a container of the file, on the port its image serves.
    ports = {"prometheus": ("prometheus", 9090), "jaeger": ("jaeger", 16686)}
    assert {source["type"] for source in datasources} == set(ports)
    for source in datasources:
        url = urlsplit(source["url"])
        assert (url.hostname, url.port) == ports[source["type"]]
        assert url.hostname in containers()
    uids = {source["uid"] for source in datasources}
    assert dashboards(), "no dashboard in deploy/grafana/dashboards/"
    for name, board in dashboards().items():
        used = {ref["uid"] for ref in walk(board, "datasource") if isinstance(ref, dict)}
        assert used <= uids, f"{name} uses datasources {sorted(used - uids)}"
    providers = [
        provider
        for path in sorted((GRAFANA_PROVISIONING / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text())["providers"]
    ]
    grafana_mounts = mounts("grafana")
    assert grafana_mounts.get("deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    assert [provider["options"]["path"] for provider in providers] == [
        grafana_mounts["deploy/grafana/dashboards"]
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_services_send_traces_where_the_collector_receives_otlp_http(service: str) -> None:
    prefix = env_prefix(service)
    endpoint = urlsplit(environment(service)[f"{prefix}OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert endpoint.hostname == "otel-collector"
    collector = yaml.safe_load(OTEL_CONFIG.read_text())
    _, port = host_port(collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"])
    assert endpoint.port == port
    assert "otlp" in collector["service"]["pipelines"]["traces"]["receivers"]
    config_path = mounts("otel-collector")["deploy/otel/collector.yaml"]
    assert command("otel-collector") == [f"--config={config_path}"]


def test_the_collector_keeps_the_traces_in_jaeger() -> None:
    collector = yaml.safe_load(OTEL_CONFIG.read_text())
    exporters = collector["service"]["pipelines"]["traces"]["exporters"]
    jaeger = [collector["exporters"][name] for name in exporters if name.startswith("otlp/")]
    assert len(jaeger) == 1, exporters
    assert host_port(jaeger[0]["endpoint"]) == ("jaeger", 4317)  # Jaeger's OTLP/gRPC receiver
    assert "jaeger" in containers()
    assert "receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317" in command("jaeger")
