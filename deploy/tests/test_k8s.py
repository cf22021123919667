"""deploy/k8s/ cannot be applied where there is no cluster: these tests render every overlay with
kustomize and keep the result consistent with the code instead. They read each service's settings
class, the topic manifest, the consumers each service subscribes, the gateway template and the
platform's metrics, so that renaming any of them breaks a test here rather than a rollout."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, get_args
from unittest.mock import MagicMock
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from relay_contracts.topics import AUDIT_EVENTS, TOPICS
from relay_platform.consumers import Consumers
from relay_platform.metrics import PlatformMetrics

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
README = K8S / "README.md"
GATEWAY_TEMPLATE = ROOT / "deploy/gateway/nginx.conf.template"
POSTGRES_INIT = ROOT / "deploy/compose/postgres-init.sh"
KUSTOMIZE = Path(os.environ.get("RELAY_HOME", ROOT / ".relay")) / "bin/kustomize"

SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "pyproject.toml").is_file())
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
TARGETS = ["base", *(f"overlays/{overlay}" for overlay in OVERLAYS), "prometheus-adapter"]
NAMESPACE = "relay"
LAG_METRIC = "relay_kafka_consumer_lag"
TOPIC_PARTITIONS = {topic.name: topic.partitions for topic in TOPICS}
CLUSTER_SCOPED = frozenset({"Namespace"})
# Settings whose values are credentials, by name (besides every SecretStr field).
SECRET_NAME = re.compile(r"SECRET|TOKEN|KEY|PASSWORD|CALLERS")
# Settings that name addresses outside the namespace (README, Prerequisites) or the public one.
OUTSIDE_ADDRESSES = ("_OTEL_EXPORTER_OTLP_ENDPOINT", "_PUBLIC_URL")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

Doc = dict[str, Any]


# -- rendering ----------------------------------------------------------------------------------
@cache
def render(target: str) -> tuple[Doc, ...]:
    if not KUSTOMIZE.is_file():
        pytest.fail(f"{KUSTOMIZE} is missing: run deploy/local/install.sh (make install)")
    built = subprocess.run(
        [str(KUSTOMIZE), "build", str(K8S / target)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, f"kustomize build {target}:\n{built.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(built.stdout) if doc)


def overlay(name: str) -> tuple[Doc, ...]:
    return render(f"overlays/{name}")


def of_kind(docs: tuple[Doc, ...], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def find(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = of_kind(docs, kind).get(name)
    assert found is not None, f"no {kind} {name!r} in the render"
    return found


def workloads(docs: tuple[Doc, ...]) -> dict[str, Doc]:
    """{"Kind/name": pod template} of every Deployment, StatefulSet and Job."""
    return {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]
        for doc in docs
        if doc["kind"] in {"Deployment", "StatefulSet", "Job"}
    }


def containers(template: Doc) -> list[Doc]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(template: Doc, name: str) -> Doc:
    found = [c for c in template["spec"]["containers"] if c["name"] == name]
    assert found, f"no container {name!r}"
    return found[0]


def service_container(docs: tuple[Doc, ...], service: str) -> Doc:
    return container(find(docs, "Deployment", service)["spec"]["template"], "service")


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def secret_data(secret: Doc) -> dict[str, str]:
    data = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
    return data | (secret.get("stringData") or {})


# -- the environment of a container ------------------------------------------------------------
def env_sources(docs: tuple[Doc, ...], spec: Doc) -> dict[str, Doc]:
    """{name: where its value comes from} for a container: `{"configMap": (name, key)}`,
    `{"secret": (name, key, optional)}` or `{"value": text}`; later entries win, as in Kubernetes."""
    sources: dict[str, Doc] = {}
    for source in spec.get("envFrom", []):
        assert "configMapRef" in source, f"{spec['name']}: envFrom only from ConfigMaps, secrets by key"
        config_map = find(docs, "ConfigMap", source["configMapRef"]["name"])
        for key in config_map.get("data", {}):
            sources[key] = {"configMap": (config_map["metadata"]["name"], key)}
    for entry in spec.get("env", []):
        if "value" in entry:
            sources[entry["name"]] = {"value": entry["value"]}
        elif "configMapKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["configMapKeyRef"]
            sources[entry["name"]] = {"configMap": (ref["name"], ref["key"])}
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            sources[entry["name"]] = {"secret": (ref["name"], ref["key"], ref.get("optional", False))}
    return sources


def looks_secret(name: str) -> bool:
    return name.endswith("DATABASE_URL") or (bool(SECRET_NAME.search(name)) and not name.endswith("_URL"))


def is_secret_sourced(sources: dict[str, Doc], name: str) -> bool:
    """From a Secret, or a value composed of references to variables that all come from Secrets."""
    source = sources.get(name, {})
    if "secret" in source:
        return True
    refs = REFERENCE.findall(source.get("value", ""))
    return bool(refs) and all("secret" in sources.get(ref, {}) for ref in refs)


def resolved_env(docs: tuple[Doc, ...], spec: Doc) -> dict[str, str]:
    """The environment Kubernetes would give the container, as far as the render knows it: the
    values of Secrets created outside it (production) and of missing optional keys stay unset."""
    env: dict[str, str] = {}
    secrets = of_kind(docs, "Secret")
    for name, source in env_sources(docs, spec).items():
        if "configMap" in source:
            config_map, key = source["configMap"]
            env[name] = find(docs, "ConfigMap", config_map)["data"][key]
        elif "secret" in source:
            secret, key, _ = source["secret"]
            data = secret_data(secrets[secret]) if secret in secrets else {}
            if key in data:
                env[name] = data[key]
        else:
            env[name] = REFERENCE.sub(lambda m: env.get(m[1], m[0]), source["value"])
    return env


# -- the code -----------------------------------------------------------------------------------
def settings_class(service: str) -> type[BaseSettings]:
    cls: type[BaseSettings] = importlib.import_module(f"{service}.config").Settings
    return cls


def env_prefix(service: str) -> str:
    return str(settings_class(service).model_config["env_prefix"])


def setting_field(service: str, env_name: str) -> FieldInfo | None:
    """The settings field an environment variable sets (`OUTER__INNER` for nested models)."""
    prefix = env_prefix(service)
    if not env_name.startswith(prefix):
        return None
    fields: dict[str, FieldInfo] = settings_class(service).model_fields
    *outer, last = env_name[len(prefix) :].lower().split("__")
    for name in outer:
        model = fields[name].annotation if name in fields else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = model.model_fields
    return fields.get(last)


def is_secret_field(field: FieldInfo) -> bool:
    return field.annotation is SecretStr or SecretStr in get_args(field.annotation)


@cache
def consumed_topics(service: str) -> frozenset[str]:
    """The topics the service's consumers subscribe to, by running its `handlers.subscribe` against a
    broker that only records."""
    broker = MagicMock()
    settings = settings_class(service).model_construct()
    consumers = Consumers(
        service=service,
        settings=settings,
        broker=broker,
        sessionmaker=MagicMock(),
        metrics=PlatformMetrics(CollectorRegistry()),
    )
    importlib.import_module(f"{service}.handlers").subscribe(
        MagicMock(consumers=consumers, settings=settings)
    )
    return frozenset(topic for call in broker.subscriber.call_args_list for topic in call.args)


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relay_k8s_generate", K8S / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def documented_secrets() -> dict[str, dict[str, bool]]:
    """{secret: {key: required}} from the Secrets table of deploy/k8s/README.md."""
    section = README.read_text().split("## Secrets", 1)[1].split("\n## ", 1)[0]
    table: dict[str, dict[str, bool]] = {}
    for row in re.findall(r"^\| `.*$", section, re.MULTILINE):
        name, required, optional = (cell.strip() for cell in row.strip("|").split("|")[:3])
        keys = {key: True for key in re.findall(r"`([^`]+)`", required)}
        table[name.strip("`")] = keys | dict.fromkeys(re.findall(r"`([^`]+)`", optional), False)
    return table


def walk(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)


# -- every target renders -------------------------------------------------------------------------
def test_there_is_a_development_and_a_production_overlay() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("target", TARGETS)
def test_target_renders_into_namespaced_resources(target: str) -> None:
    docs = render(target)
    assert docs
    # Everything in relay, but the adapter's rules: in the adapter's namespace.
    adapter = ("ConfigMap", "relay-prometheus-adapter")
    misplaced = [
        f"{doc['kind']}/{doc['metadata']['name']}: {doc['metadata'].get('namespace')}"
        for doc in docs
        if doc["kind"] not in CLUSTER_SCOPED
        and doc["metadata"].get("namespace")
        != ("monitoring" if (doc["kind"], doc["metadata"]["name"]) == adapter else NAMESPACE)
    ]
    assert not misplaced, misplaced


def test_generated_files_are_those_the_generator_writes() -> None:
    stale = [
        relative
        for relative, text in generator().render().items()
        if not (K8S / relative).is_file() or (K8S / relative).read_text() != text
    ]
    assert stale == [], f"run `uv run --frozen python deploy/k8s/generate.py`: {stale}"


# -- Kafka ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OVERLAYS)
def test_a_kafka_topic_for_every_topic_of_the_manifest(name: str) -> None:
    topics = {doc["spec"]["topicName"]: doc for doc in of_kind(overlay(name), "KafkaTopic").values()}
    assert set(topics) == {topic.name for topic in TOPICS}
    for topic in TOPICS:
        spec = topics[topic.name]["spec"]
        # A development cluster has one broker: one replica, and an in-sync minimum it can meet.
        replicas = 1 if name == "dev" else topic.replication_factor
        assert spec["partitions"] == topic.partitions, topic.name
        assert spec["replicas"] == replicas, topic.name
        assert spec["config"] == topic.configs(replicas), topic.name


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_use_the_bootstrap_service_of_the_topics_kafka_cluster(name: str) -> None:
    docs = overlay(name)
    clusters = {
        doc["metadata"]["labels"]["strimzi.io/cluster"] for doc in of_kind(docs, "KafkaTopic").values()
    }
    assert len(clusters) == 1, clusters
    (cluster,) = clusters
    kafka = of_kind(docs, "Kafka").get(cluster)
    port = 9092
    if kafka is not None:  # rendered in development, an existing cluster elsewhere
        plain = [lst for lst in kafka["spec"]["kafka"]["listeners"] if not lst.get("tls")]
        assert plain, "the services connect without TLS: the Kafka cluster needs a plain listener"
        port = plain[0]["port"]
        assert "topicOperator" in kafka["spec"]["entityOperator"], "the KafkaTopics need the Topic Operator"
        assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    for service in SERVICES:
        env = resolved_env(docs, service_container(docs, service))
        assert env[f"{env_prefix(service)}KAFKA_BOOTSTRAP_SERVERS"] == f"{cluster}-kafka-bootstrap:{port}"
        assert not env.get(f"{env_prefix(service)}KAFKA_TOPIC_PREFIX"), "the topics have no prefix"


# -- each service gets the settings its code reads ----------------------------------------------
@pytest.mark.parametrize("name", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_its_module_on_the_port_its_probes_and_service_use(name: str, service: str) -> None:
    docs = overlay(name)
    spec = service_container(docs, service)
    assert spec["command"] == ["python", "-m", service]
    env = resolved_env(docs, spec)
    port = int(env[f"{env_prefix(service)}HTTP_PORT"])
    assert env[f"{env_prefix(service)}HTTP_HOST"] == "0.0.0.0"  # noqa: S104 - reachable from other pods
    assert {p["name"]: p["containerPort"] for p in spec["ports"]} == {"http": port}
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert find(docs, "Service", service)["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("name", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_service_gets_every_required_setting_and_only_real_ones(name: str, service: str) -> None:
    sources = env_sources(overlay(name), service_container(overlay(name), service))
    prefix = env_prefix(service)
    required = [
        f"{prefix}{f.upper()}"
        for f, info in settings_class(service).model_fields.items()
        if info.is_required()
    ]
    assert not [key for key in required if key not in sources], f"{service} lacks required settings"
    referenced = {ref for source in sources.values() for ref in REFERENCE.findall(source.get("value", ""))}
    unknown = [key for key in sources if setting_field(service, key) is None and key not in referenced]
    assert not unknown, f"{service}: not settings of {service} (prefix {prefix}): {unknown}"


@pytest.mark.parametrize("name", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_secret_settings_come_from_secrets(name: str, service: str) -> None:
    sources = env_sources(overlay(name), service_container(overlay(name), service))
    plain = [
        key
        for key in sources
        if (looks_secret(key) or ((field := setting_field(service, key)) and is_secret_field(field)))
        and not is_secret_sourced(sources, key)
    ]
    assert not plain, f"{service}: secret settings not from a Secret: {plain}"


@pytest.mark.parametrize("name", OVERLAYS)
def test_no_config_map_holds_a_secret(name: str) -> None:
    leaked = [
        f"{config_map}: {key}"
        for config_map, doc in of_kind(overlay(name), "ConfigMap").items()
        for key in doc.get("data", {})
        if ENV_NAME.match(key) and looks_secret(key)
    ]
    assert not leaked, leaked


@pytest.mark.parametrize("service", SERVICES)
def test_development_environment_builds_the_service_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = overlay("dev")
    env = resolved_env(docs, service_container(docs, service))
    for key in list(os.environ):
        if key.upper().startswith(env_prefix(service)):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings: Any = settings_class(service)()
    assert settings.environment == "development"


def test_development_internal_tokens_match_between_callers_and_callees() -> None:
    docs = overlay("dev")
    env = {
        key: value for s in SERVICES for key, value in resolved_env(docs, service_container(docs, s)).items()
    }
    assert env["CONNECTIONS_IDENTITY_INTERNAL_TOKEN"] == env["IDENTITY_INTERNAL_API_TOKEN"]
    callers = dict(entry.split(":", 1) for entry in env["CONNECTIONS_INTERNAL_CALLERS"].split(","))
    assert callers == {
        "ingestion": env["INGESTION_CONNECTIONS_TOKEN"],
        "export": env["EXPORT_CONNECTIONS_TOKEN"],
    }


@pytest.mark.parametrize("name", OVERLAYS)
def test_service_urls_name_rendered_services_and_their_ports(name: str) -> None:
    docs = overlay(name)
    services = of_kind(docs, "Service")
    problems = []
    for service in SERVICES:
        for key, value in resolved_env(docs, service_container(docs, service)).items():
            url = urlsplit(value) if "://" in value else None
            if url is None or key.endswith(OUTSIDE_ADDRESSES) or "." in (url.hostname or ""):
                continue
            ports = [p["port"] for p in services.get(url.hostname or "", {}).get("spec", {}).get("ports", [])]
            if url.port not in ports:
                problems.append(f"{service}: {key} -> {url.hostname}:{url.port}")
    assert not problems, problems


def test_production_sends_traces_to_one_collector_and_runs_in_production() -> None:
    docs = overlay("production")
    endpoints = set()
    for service in SERVICES:
        env = resolved_env(docs, service_container(docs, service))
        prefix = env_prefix(service)
        assert env[f"{prefix}ENVIRONMENT"] == "production"
        assert env[f"{prefix}OTEL_TRACES_EXPORTER"] == "otlp"
        endpoints.add(env[f"{prefix}OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert len(endpoints) == 1, endpoints


# -- references -----------------------------------------------------------------------------------
def references(docs: tuple[Doc, ...]) -> list[tuple[str, str, str, str | None, bool]]:
    """(where, kind, name, key, optional) of every ConfigMap and Secret the render refers to."""
    found: list[tuple[str, str, str, str | None, bool]] = []
    for where, template in workloads(docs).items():
        for spec in containers(template):
            for source in spec.get("envFrom", []):
                for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if field in source:
                        ref = source[field]
                        found.append((where, kind, ref["name"], None, ref.get("optional", False)))
            for entry in spec.get("env", []):
                for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if field in entry.get("valueFrom", {}):
                        ref = entry["valueFrom"][field]
                        found.append((where, kind, ref["name"], ref["key"], ref.get("optional", False)))
        for volume in template["spec"].get("volumes", []):
            if "configMap" in volume:
                found.append((where, "ConfigMap", volume["configMap"]["name"], None, False))
            if "secret" in volume:
                found.append((where, "Secret", volume["secret"]["secretName"], None, False))
    for ingress in of_kind(docs, "Ingress").values():
        for tls in ingress["spec"].get("tls", []):
            found.append((f"Ingress/{ingress['metadata']['name']}", "Secret", tls["secretName"], None, False))
    return found


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_config_map_and_secret_reference_resolves(name: str) -> None:
    docs = overlay(name)
    # Secrets created by the operator (README, Secrets); the dev overlay generates all it uses.
    documented = documented_secrets() if name != "dev" else {}
    problems = []
    for where, kind, ref, key, optional in references(docs):
        rendered = of_kind(docs, kind).get(ref)
        if rendered is not None:
            keys = set(rendered.get("data", {})) if kind == "ConfigMap" else set(secret_data(rendered))
            if key is not None and key not in keys and not optional:
                problems.append(f"{where}: {kind} {ref} has no key {key}")
        elif kind == "Secret" and ref in documented:
            keys = documented[ref]
            if key is not None and (key not in keys or (keys[key] is False and not optional)):
                problems.append(f"{where}: key {key} of Secret {ref} is not documented as required")
        else:
            problems.append(f"{where}: {kind} {ref} is neither rendered nor documented")
    assert not problems, problems


def test_production_commits_no_secret_and_documents_exactly_the_ones_it_needs() -> None:
    docs = overlay("production")
    assert not of_kind(docs, "Secret"), "production must not carry secret values"
    needed: dict[str, dict[str, bool]] = {}
    for _, kind, ref, key, optional in references(docs):
        if kind == "Secret":
            keys = needed.setdefault(ref, {})
            if key is not None:
                keys[key] = keys.get(key, False) or not optional
    documented = documented_secrets()
    assert set(documented) == set(needed), "the Secrets table of deploy/k8s/README.md is out of date"
    for secret, keys in needed.items():
        if keys:  # (an Ingress names its TLS Secret without keys)
            assert documented[secret] == keys, f"README, Secrets: the keys of {secret}"


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_ingresses_and_budgets_select_pods_that_exist(name: str) -> None:
    docs = overlay(name)
    pods = {where: template for where, template in workloads(docs).items() if not where.startswith("Job/")}
    problems = []
    for service in of_kind(docs, "Service").values():
        matched = [t for t in pods.values() if selects(service["spec"]["selector"], t["metadata"]["labels"])]
        ports = {p.get("name") for t in matched for c in containers(t) for p in c.get("ports", [])}
        ports |= {p["containerPort"] for t in matched for c in containers(t) for p in c.get("ports", [])}
        if not matched:
            problems.append(f"Service {service['metadata']['name']} selects no pod")
        problems += [
            f"Service {service['metadata']['name']}: no container port {port['targetPort']}"
            for port in service["spec"]["ports"]
            if port["targetPort"] not in ports
        ]
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for doc in of_kind(docs, kind).values():
            selector = doc["spec"].get("selector", doc["spec"].get("podSelector"))["matchLabels"]
            if not any(selects(selector, t["metadata"]["labels"]) for t in pods.values()):
                problems.append(f"{kind} {doc['metadata']['name']} selects no pod")
    services = of_kind(docs, "Service")
    for ingress in of_kind(docs, "Ingress").values():
        for backend in walk(ingress["spec"], "service"):
            target = services.get(backend["name"])
            port_names = {p.get("name") for p in target["spec"]["ports"]} if target else set()
            port_numbers = {p["port"] for p in target["spec"]["ports"]} if target else set()
            if (
                backend["port"].get("name") not in port_names
                and backend["port"].get("number") not in port_numbers
            ):
                problems.append(f"Ingress {ingress['metadata']['name']} -> {backend}")
    assert not problems, problems


# -- workloads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OVERLAYS)
def test_relay_containers_run_unprivileged_with_bounded_resources(name: str) -> None:
    problems = []
    for where, template in workloads(overlay(name)).items():
        if template["metadata"]["labels"].get("app.kubernetes.io/part-of") != "relay":
            continue  # the development Postgres and Redis
        pod_security = template["spec"].get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot")
        for spec in containers(template):
            security = spec.get("securityContext", {})
            if security.get("readOnlyRootFilesystem") is not True or security.get("allowPrivilegeEscalation"):
                problems.append(f"{where}/{spec['name']}: writable root or privilege escalation")
            resources = spec.get("resources", {})
            if not {"cpu", "memory"} <= set(resources.get("requests", {})) or "memory" not in resources.get(
                "limits", {}
            ):
                problems.append(f"{where}/{spec['name']}: requests and a memory limit")
    assert not problems, problems


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_relay_container_runs_one_image(name: str) -> None:
    docs = overlay(name)
    images = {
        spec["image"]
        for template in workloads(docs).values()
        if template["metadata"]["labels"].get("app.kubernetes.io/component") in {"service", "migration"}
        for spec in containers(template)
    }
    assert len(images) == 1, images


@pytest.mark.parametrize("name", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_migration_job_upgrades_the_service_database_and_the_service_waits_for_it(
    name: str, service: str
) -> None:
    docs = overlay(name)
    job = find(docs, "Job", f"{service}-migrate")["spec"]["template"]
    alembic_ini = f"services/{service}/alembic.ini"
    assert (ROOT / alembic_ini).is_file()
    migrate = container(job, "migrate")
    assert migrate["command"] == ["alembic", "-c", alembic_ini, "upgrade", "head"]
    assert job["spec"]["restartPolicy"] in {"OnFailure", "Never"}
    database_url = f"{env_prefix(service)}DATABASE_URL"
    deployment = find(docs, "Deployment", service)["spec"]["template"]
    service_source = env_sources(docs, container(deployment, "service"))[database_url]
    assert env_sources(docs, migrate)[database_url] == service_source
    waits = [c for c in deployment["spec"].get("initContainers", []) if c["name"] == "wait-for-migrations"]
    assert waits, f"{service} must not start before its migrations"
    assert f"alembic -c {alembic_ini} current --check-heads" in " ".join(waits[0]["command"])
    assert env_sources(docs, waits[0])[database_url] == service_source


def test_each_service_has_its_own_database_secret_in_production() -> None:
    docs = overlay("production")
    sources = {
        service: env_sources(docs, service_container(docs, service))[f"{env_prefix(service)}DATABASE_URL"]
        for service in SERVICES
    }
    assert len({source["secret"][0] for source in sources.values()}) == len(SERVICES), sources


def test_development_gives_each_service_its_own_database_and_role_created_by_the_init_script() -> None:
    docs = overlay("dev")
    urls = {
        service: urlsplit(
            resolved_env(docs, service_container(docs, service))[f"{env_prefix(service)}DATABASE_URL"]
        )
        for service in SERVICES
    }
    for service, url in urls.items():
        assert url.scheme == "postgresql+asyncpg"
        assert (url.path, url.username) == (f"/relay_{service}", f"relay_{service}")
    assert len({url.path for url in urls.values()}) == len(SERVICES)
    postgres = find(docs, "StatefulSet", "postgres")["spec"]["template"]
    env = resolved_env(docs, container(postgres, "postgres"))
    assert {url.password for url in urls.values()} == {env["RELAY_DB_PASSWORD"]}
    loop = re.search(r"^for service in ([a-z ]+); do$", POSTGRES_INIT.read_text(), re.MULTILINE)
    assert loop is not None
    assert sorted(loop[1].split()) == SERVICES
    init = next(v for v in postgres["spec"]["volumes"] if v["name"] == "init")
    mounted = find(docs, "ConfigMap", init["configMap"]["name"])["data"]
    assert mounted == {"postgres-init.sh": POSTGRES_INIT.read_text()}


# -- autoscaling ----------------------------------------------------------------------------------
def test_the_lag_metric_is_exported_by_the_platform() -> None:
    registry = CollectorRegistry()
    PlatformMetrics(registry)
    assert LAG_METRIC in {family.name for family in registry.collect()}


def test_production_scales_every_consuming_service_on_its_lag_within_its_partitions() -> None:
    docs = overlay("production")
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    targets = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in autoscalers.values()}
    assert set(targets) == {service for service in SERVICES if consumed_topics(service)}
    for service, hpa in targets.items():
        spec = hpa["spec"]
        assert spec["scaleTargetRef"]["kind"] == "Deployment"
        assert "replicas" not in find(docs, "Deployment", service)["spec"], "the autoscaler owns replicas"
        # (relay.audit.events too: the platform's consumer of job runs, in services with jobs)
        topics = consumed_topics(service) | {AUDIT_EVENTS.name}
        partitions = min(TOPIC_PARTITIONS[topic] for topic in topics)
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"] <= partitions, service
        lag = [m["external"] for m in spec["metrics"] if m["type"] == "External"]
        assert [m["metric"]["name"] for m in lag] == [LAG_METRIC], service
        assert lag[0]["metric"]["selector"] == {"matchLabels": {"service": service}}
        assert lag[0]["target"]["type"] == "AverageValue"


def test_the_adapter_serves_the_lag_by_service_from_what_prometheus_scrapes() -> None:
    docs = overlay("production")
    config_map = find(docs, "ConfigMap", "relay-prometheus-adapter")
    assert config_map["metadata"]["namespace"] == "monitoring"
    (rule,) = yaml.safe_load(config_map["data"]["config.yaml"])["externalRules"]
    assert LAG_METRIC in rule["seriesQuery"]
    assert rule["name"]["as"] == LAG_METRIC
    grouped = re.search(r"^max by \(([a-z_, ]+)\)", rule["metricsQuery"])
    assert grouped is not None, "one value per service: every replica reports the same lag"
    selector_labels = {
        label
        for hpa in of_kind(docs, "HorizontalPodAutoscaler").values()
        for metric in hpa["spec"]["metrics"]
        if metric["type"] == "External"
        for label in metric["external"]["metric"]["selector"]["matchLabels"]
    }
    assert selector_labels <= {label.strip() for label in grouped[1].split(",")}
    # The ServiceMonitor's targets get the label `service` (the Service's name) the selectors use.
    (monitor,) = of_kind(docs, "ServiceMonitor").values()
    scraped = [
        s
        for s in of_kind(docs, "Service").values()
        if selects(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert {s["metadata"]["name"] for s in scraped} == set(SERVICES)
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["path"] == "/metrics"
        assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in scraped)


# -- gateway --------------------------------------------------------------------------------------
def rendered_gateway_config(docs: tuple[Doc, ...]) -> tuple[Doc, dict[str, str]]:
    gateway = find(docs, "Deployment", "gateway")["spec"]["template"]
    volume = next(v for v in gateway["spec"]["volumes"] if v["name"] == "config")
    return gateway, find(docs, "ConfigMap", volume["configMap"]["name"])["data"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_gateway_runs_the_template_rendered_with_every_route_unchanged(name: str) -> None:
    docs = overlay(name)
    gateway, files = rendered_gateway_config(docs)
    generate = generator()
    assert files == {
        "nginx.conf": generate.render()["base/gateway/nginx.conf"],
        "healthz.js": (ROOT / "deploy/gateway/healthz.js").read_text(),
    }
    template = GATEWAY_TEMPLATE.read_text()
    # What the template gives with envsubst, but for the Kubernetes edge (no route changes).
    config = files["nginx.conf"].split("\n", 1)[1].replace(generate.GATEWAY_BEHIND_INGRESS, "")
    for line, replacement in generate.GATEWAY_REPLACEMENTS.items():
        assert "location" not in line
        config = config.replace(replacement, line)
    assert config == generate.envsubst(template, generate.gateway_values(template))
    nginx = container(gateway, "nginx")
    mounts = {m["name"]: m["mountPath"] for m in nginx["volumeMounts"]}
    script = " ".join(nginx["command"])
    assert f"-c {mounts['config']}/nginx.conf" in script
    assert "daemon off;" in script
    prefix = generate.GATEWAY_SETTINGS["GATEWAY_PREFIX"]
    assert mounts["prefix"] == prefix
    assert any(v["name"] == "prefix" and "emptyDir" in v for v in gateway["spec"]["volumes"])
    port = int(generate.GATEWAY_SETTINGS["GATEWAY_PORT"])
    assert {p["name"]: p["containerPort"] for p in nginx["ports"]} == {"http": port}


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_upstream_of_the_gateway_is_a_rendered_service_with_that_port(name: str) -> None:
    docs = overlay(name)
    _, files = rendered_gateway_config(docs)
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{\s*server\s+([^;\s]+);", files["nginx.conf"]))
    assert set(upstreams) == set(SERVICES)
    services = of_kind(docs, "Service")
    for address in upstreams.values():
        host, _, port = address.rpartition(":")
        assert host in services, f"gateway upstream {address}: no Service {host}"
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, address


def test_rendered_gateway_config_is_accepted_by_nginx(tmp_path: Path) -> None:
    """`nginx -t` on the rendered config, with this machine's njs module and the upstreams on
    127.0.0.1 (nginx resolves upstream names when it loads its config)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    njs = Path(os.environ.get("RELAY_NJS_MODULE", "/usr/lib/nginx/modules/ngx_http_js_module.so"))
    if not (Path(nginx).is_file() and njs.is_file()):
        pytest.fail("nginx with its njs module is missing: run deploy/local/install.sh (make install)")
    _, files = rendered_gateway_config(overlay("production"))
    generate = generator()
    config = re.sub(r"(\bserver\s+)[a-z-]+:", r"\g<1>127.0.0.1:", files["nginx.conf"])
    config = config.replace(generate.GATEWAY_SETTINGS["NJS_MODULE"], str(njs))
    config = config.replace(generate.GATEWAY_SETTINGS["GATEWAY_PREFIX"], str(tmp_path))
    (tmp_path / "tmp").mkdir()  # as the gateway's command does in GATEWAY_PREFIX
    (tmp_path / "nginx.conf").write_text(config)
    (tmp_path / "healthz.js").write_text(files["healthz.js"])
    prefix = f"{tmp_path}/"
    checked = subprocess.run(
        [nginx, "-t", "-q", "-p", prefix, "-e", f"{prefix}error.log", "-c", f"{prefix}nginx.conf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_production_ingress_serves_the_public_url_providers_call_back() -> None:
    docs = overlay("production")
    (ingress,) = of_kind(docs, "Ingress").values()
    public = urlsplit(resolved_env(docs, service_container(docs, "connections"))["CONNECTIONS_PUBLIC_URL"])
    assert public.scheme == "https"
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [public.hostname]
    assert [host for tls in ingress["spec"]["tls"] for host in tls["hosts"]] == [public.hostname]
