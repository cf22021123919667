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


def _descendants(roots: list[int]) -> set[int]:
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


def stack_memory(home: Path, dev_pid: int) -> dict[str, float]:
    daemons = {
        "kafka": _pid_from(home / "kafka" / "kafka.pid"),
        "postgresql": _pid_from(home / "pg" / "data" / "postmaster.pid"),
        "redis": _pid_from(home / "redis" / "redis.pid"),
        "gateway": _pid_from(home / "gateway" / "nginx.pid"),
    }
    groups = {name: _descendants([pid]) for name, pid in daemons.items() if pid}
    groups["services"] = _descendants([dev_pid])
    result: dict[str, float] = {}
    for name, pids in groups.items():
        rss = sum(_memory_kib(p)[0] for p in pids)
        pss = sum(_memory_kib(p)[1] for p in pids)
        result[f"{name}_rss_mib"] = round(rss / 1024, 1)
        result[f"{name}_pss_mib"] = round(pss / 1024, 1)
    result["total_rss_mib"] = round(sum(v for k, v in result.items() if k.endswith("_rss_mib")), 1)
    result["total_pss_mib"] = round(sum(v for k, v in result.items() if k.endswith("_pss_mib")), 1)
    return result


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
