"""`make dev`: the whole Relay system on this machine, in the foreground.

Starts the infrastructure (deploy/local/up.sh), creates and migrates each service's database, creates
the topics from the manifest, starts every service, the gateway and a Prometheus that scrapes them with
Relay's alert rules, prints the URLs and waits.
Ctrl-C (or SIGTERM) stops the services gracefully, then the gateway and the infrastructure."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from relay_devstack import SERVICES, Stack
from relay_devstack.prometheus import LocalPrometheus


def main() -> int:
    started = time.monotonic()
    stack = Stack()
    root = stack.config.root
    prometheus = LocalPrometheus(
        stack.config, stack.config.home / "prometheus", int(os.environ.get("RELAY_PROMETHEUS_PORT", 9090))
    )
    subprocess.run(["bash", str(root / "deploy/local/up.sh")], check=True)
    asyncio.run(stack.create_databases(fresh=False))
    stack.migrate()
    created = asyncio.run(stack.ensure_topics())
    print(f"topics ready ({len(created)} created)")
    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start_all()
        asyncio.run(stack.wait_ready())
        stack.start_gateway()
        prometheus.start()
        prometheus.wait_scraping()
        elapsed = time.monotonic() - started
        gateway = stack.config.gateway_url
        print(f"\nRelay is ready in {elapsed:.1f}s\n")
        print(f"  gateway        {gateway}            (health: {gateway}/healthz)")
        print(f"  API docs       {gateway}/docs/")
        print(f"  Prometheus     {prometheus.url}            (alerts: {prometheus.url}/alerts)")
        for service in SERVICES:
            print(f"  {service:<14} {stack.config.service_url(service)}   (metrics: /metrics)")
        print(f"  logs           {stack.logs}/<service>.log\n\nCtrl-C stops everything.")
        while not stop:
            for service, process in list(stack.processes.items()):
                if process.poll() is not None:
                    print(
                        f"{service} exited with {process.returncode}; restarting (see its log)",
                        file=sys.stderr,
                    )
                    stack.start(service)
            time.sleep(0.5)
    finally:
        print("stopping services...")
        prometheus.stop()
        stack.stop_all()
        subprocess.run(["bash", str(root / "deploy/local/gateway.sh"), "stop"], check=False)
        subprocess.run(["bash", str(root / "deploy/local/down.sh")], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
