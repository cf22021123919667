"""Prometheus (Debian's package) on a local stack: every service's /metrics scraped, the alert and
recording rules of deploy/prometheus/rules evaluated, as docker-compose's Prometheus does."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from relay_devstack.stack import SERVICES, StackConfig

PROMETHEUS = Path("/usr/bin/prometheus")


def rule_files(config: StackConfig) -> list[str]:
    return sorted(str(path) for path in (config.root / "deploy/prometheus/rules").glob("*.yml"))


def prometheus_config(config: StackConfig, interval: str = "5s") -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml's configuration, on the stack's own ports: one job per service,
    labelled service=<name> (the label the dashboards and rules group by)."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": rule_files(config),
        "scrape_configs": [
            {
                "job_name": service,
                "metrics_path": "/metrics",
                "static_configs": [
                    {
                        "targets": [config.service_url(service).removeprefix("http://")],
                        "labels": {"service": service},
                    }
                ],
            }
            for service in SERVICES
        ],
    }


class LocalPrometheus:
    """A Prometheus process of the stack, with its data and log under `home`."""

    def __init__(self, config: StackConfig, home: Path, port: int, interval: str = "5s") -> None:
        self.config = config
        self.home = home
        self.port = port
        self.interval = interval
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "prometheus.log"

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        config_file = self.home / "prometheus.yml"
        # JSON is YAML: Prometheus reads it as its configuration file.
        config_file.write_text(json.dumps(prometheus_config(self.config, self.interval), indent=2))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={self.home / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_scraping(self, timeout: float = 30.0) -> None:
        """Until every service is scraped successfully."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"Prometheus exited: see {self.log}")
            try:
                answer = httpx.get(f"{self.url}/api/v1/targets", timeout=2)
            except httpx.TransportError:
                answer = None
            # While it starts, Prometheus answers 503 "Service Unavailable" in plain text.
            if answer is not None and answer.status_code == 200:
                targets = answer.json()["data"]["activeTargets"]
                if len(targets) == len(SERVICES) and all(t["health"] == "up" for t in targets):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus did not scrape every service within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
