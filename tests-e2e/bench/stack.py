"""How long `make dev` takes to bring the whole stack to ready (cold: a fresh data folder; warm: the
same folder again), how much memory the running stack holds, and how long a clean stop takes.

It runs `make dev` exactly as a user would, on the default ports, with RELAY_HOME pointing at a new
folder; the ports must be free (no other stack running)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = f"http://127.0.0.1:{os.environ.get('RELAY_GATEWAY_PORT', 8080)}"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(roots: list[int]) -> set[int]:
    tree, seen, stack = _children(), set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(tree.get(pid, []))
    return seen


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB; PSS shares pages among the processes that map them."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0, 0
    values = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if line.split()[1].isdigit()}
    return values.get("Rss", 0), values.get("Pss", 0)


def _pid_from(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def process_tree(pid_file: Path) -> set[int]:
    """The process named in `pid_file` and its descendants (none when it is not running)."""
    pid = _pid_from(pid_file)
    return descendants([pid]) if pid else set()


def _command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").split()
    except OSError:
        return []


def _serves_another_database(pid: int, databases: set[str]) -> bool:
    """Whether a PostgreSQL process is a client backend (`postgres: <role> <database> <host>(<port>) ...`)
    of a database other than `databases`."""
    words = _command_line(pid)
    client = len(words) >= 4 and words[0] == "postgres:" and ("(" in words[3] or words[3] == "[local]")
    return client and words[2] not in databases


def infrastructure_processes(home: Path, databases: set[str] | None = None) -> dict[str, set[int]]:
    """Kafka, PostgreSQL and Redis of the local infrastructure in `home`, each with its child processes.
    With `databases`, PostgreSQL's client backends of other databases (another stack's) are left out."""
    groups = {
        "kafka": process_tree(home / "kafka" / "kafka.pid"),
        "postgresql": process_tree(home / "pg" / "data" / "postmaster.pid"),
        "redis": process_tree(home / "redis" / "redis.pid"),
    }
    if databases is not None:
        groups["postgresql"] = {p for p in groups["postgresql"] if not _serves_another_database(p, databases)}
    return {name: pids for name, pids in groups.items() if pids}


def memory_mib(groups: dict[str, set[int]]) -> dict[str, float]:
    """RSS and PSS of each group of processes, and their totals, in MiB."""
    result: dict[str, float] = {}
    for name, pids in groups.items():
        rss = sum(_memory_kib(p)[0] for p in pids)
        pss = sum(_memory_kib(p)[1] for p in pids)
        result[f"{name}_rss_mib"] = round(rss / 1024, 1)
        result[f"{name}_pss_mib"] = round(pss / 1024, 1)
    result["total_rss_mib"] = round(sum(v for k, v in result.items() if k.endswith("_rss_mib")), 1)
    result["total_pss_mib"] = round(sum(v for k, v in result.items() if k.endswith("_pss_mib")), 1)
    return result


def stack_memory(home: Path, dev_pid: int) -> dict[str, float]:
    groups = {
        **infrastructure_processes(home),
        "gateway": process_tree(home / "gateway" / "nginx.pid"),
        "services": descendants([dev_pid]),
    }
    return memory_mib({name: pids for name, pids in groups.items() if pids})


def start_and_wait(home: Path, log: Path, timeout: float = 300.0) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "dev"],
        cwd=ROOT,
        env={**os.environ, "RELAY_HOME": str(home)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"make dev exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{GATEWAY}/healthz", timeout=2).status_code == 200:
                return process, time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"stack not ready after {timeout}s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    process.wait(timeout=180)
    return time.monotonic() - started


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        Path(tmp).chmod(0o755)  # PostgreSQL runs as its own user and must reach its data folder
        home, log = Path(tmp) / "relay", Path(tmp) / "make-dev.log"
        process, cold = start_and_wait(home, log)
        time.sleep(5)  # let start-up settle before reading memory
        memory = stack_memory(home, process.pid)
        stop_cold = stop(process)
        process, warm = start_and_wait(home, log)
        stop_warm = stop(process)
    return {
        "cold_start_to_ready_s": round(cold, 1),
        "warm_start_to_ready_s": round(warm, 1),
        "clean_stop_s": round(max(stop_cold, stop_warm), 1),
        **memory,
    }
