"""`make bench`: runs Relay's benchmarks and writes their figures to tests-e2e/bench/results/."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import auth
import fit
import ingest
import load
import plan
import review
import stack
import trail

RESULTS = Path(__file__).resolve().parent / "results"
TABLES = {"load": load.table}
"""Benchmarks whose figures are also a Markdown table, written to results/<name>.md."""


def main() -> None:
    only = set(sys.argv[1:])
    benchmarks = {
        "stack": stack.run,
        "auth": auth.run,
        "ingestion": ingest.run,
        "load": load.run,
        "planning": plan.run,
        "review": review.run,
        "fit": fit.run,
        "audit": trail.run,
    }
    figures = {name: bench() for name, bench in benchmarks.items() if not only or name in only}
    record = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
        **figures,
    }
    RESULTS.mkdir(exist_ok=True)
    latest = RESULTS / "latest.json"
    previous = json.loads(latest.read_text()) if latest.exists() and only else {}
    latest.write_text(json.dumps({**previous, **record}, indent=2) + "\n")
    for name, values in figures.items():
        print(f"\n{name}")
        for key, value in values.items():
            print(f"  {key:<28} {value}")
        if name in TABLES:
            table = TABLES[name](values)
            (RESULTS / f"{name}.md").write_text(table)
            print(f"\n{table}written to {RESULTS / f'{name}.md'}")
    print(f"\nwritten to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
