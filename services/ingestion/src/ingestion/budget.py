"""Each provider application's request budget, shared by every replica through Redis.

A provider limits Relay's application as a whole (Strava: 200 requests per 15 minutes and 2,000 per
day, of which 100 and 1,000 reads), so the count cannot live in one process. Windows are aligned on
the clock in UTC, as Strava's are (15-minute windows at :00, :15, :30 and :45; the day at midnight).
A request is counted in every window it falls under before it is sent, atomically (one Lua script), and
refused when one of them is full: Relay never goes over a limit by its own count. Backfills leave a
share of each window to live notifications. What the provider says it counted (`X-RateLimit-Usage`)
raises Relay's count when it is higher (requests Relay did not see, another deployment), and a 429
closes the budget until its `Retry-After` or the end of the window."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.asyncio import Redis

from ingestion.config import PROVIDER_API_URLS
from ingestion.providers.base import Priority, RateLimited, RequestKind
from relay_platform.http import retry_after_seconds

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
WINDOW = re.compile(r"(\d+)/(\d+)([smhd])")


@dataclass(frozen=True)
class Window:
    seconds: int
    limit: int
    kind: str
    """`all` (every request) or `read`."""


def parse_limits(spec: str) -> list[Window]:
    """`200/15m,2000/1d;read:100/15m,1000/1d` → the windows it describes (empty spec: no limit)."""
    windows: list[Window] = []
    for group in filter(None, (part.strip() for part in spec.split(";"))):
        kind, _, rules = group.rpartition(":")
        for rule in filter(None, (r.strip() for r in rules.split(","))):
            matched = WINDOW.fullmatch(rule)
            if matched is None:
                raise ValueError(f"invalid rate limit {rule!r}: expected <count>/<n><s|m|h|d>")
            count, amount, unit = matched.groups()
            windows.append(Window(int(amount) * UNITS[unit], int(count), kind or "all"))
    return windows


# KEYS: the windows' counters then the provider's "closed until" key. ARGV: for each window its limit
# and time to live, then now. Counts nothing unless every window has room; returns -1, or the index
# (1-based) of the first full window, or 0 when the provider closed the budget.
ACQUIRE = """
local closed = tonumber(redis.call('GET', KEYS[#KEYS]) or '0')
if closed > tonumber(ARGV[#ARGV]) then return 0 end
for i = 1, #KEYS - 1 do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used + 1 > tonumber(ARGV[2 * i - 1]) then return i end
end
for i = 1, #KEYS - 1 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
end
return -1
"""

# Raises a counter to at least ARGV[1] (the provider's own count), keeping its expiry.
RAISE_TO = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > used then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""


class BudgetMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "relay_provider_requests_total",
            "Requests to providers' APIs counted against their application budget, by priority.",
            ["provider", "priority"],
            registry=registry,
        )
        self.refused = Counter(
            "relay_provider_budget_refusals_total",
            "Requests not sent because a provider's budget was spent.",
            ["provider", "priority"],
            registry=registry,
        )
        self.used = Gauge(
            "relay_provider_budget_used_ratio",
            "Share of a provider's rate-limit window used, as last reported by the provider.",
            ["provider", "window"],
            registry=registry,
        )
        # Known in advance: shown as 0 rather than missing until the first request or refusal.
        for provider in PROVIDER_API_URLS:
            for priority in get_args(Priority):
                self.requests.labels(provider=provider, priority=priority)
                self.refused.labels(provider=provider, priority=priority)


class RedisBudget:
    """The `Budget` of every provider application, counted in Redis."""

    def __init__(
        self,
        redis: Redis,
        limits: dict[str, list[Window]],
        *,
        live_reserve_percent: int,
        namespace: str = "",
        metrics: BudgetMetrics | None = None,
    ) -> None:
        self._redis = redis
        self._limits = limits
        self._reserve = live_reserve_percent / 100
        self._namespace = namespace
        self._metrics = metrics
        self._acquire = redis.register_script(ACQUIRE)
        self._raise_to = redis.register_script(RAISE_TO)

    def _key(self, provider: str, window: Window, now: float) -> str:
        start = int(now // window.seconds) * window.seconds
        return f"{self._namespace}budget:{provider}:{window.kind}:{window.seconds}:{start}"

    def _closed_key(self, provider: str) -> str:
        return f"{self._namespace}budget:{provider}:closed-until"

    def _windows(self, provider: str, kind: RequestKind) -> list[Window]:
        return [w for w in self._limits.get(provider, []) if w.kind == "all" or w.kind == kind]

    async def acquire(self, provider: str, kind: RequestKind, priority: Priority) -> None:
        windows = self._windows(provider, kind)
        now = time.time()
        keys = [self._key(provider, w, now) for w in windows] + [self._closed_key(provider)]
        args: list[float | int] = []
        for window in windows:
            share = 1.0 if priority == "live" else 1.0 - self._reserve
            args += [max(1, int(window.limit * share)), window.seconds + 60]
        args.append(now)
        full = int(await self._acquire(keys=keys, args=args))
        if full == -1:
            if self._metrics:
                self._metrics.requests.labels(provider=provider, priority=priority).inc()
            return
        if self._metrics:
            self._metrics.refused.labels(provider=provider, priority=priority).inc()
        if full == 0:
            closed = float(await self._redis.get(self._closed_key(provider)) or now)
            raise RateLimited(f"{provider} asked Relay to wait", retry_at=_at(closed))
        window = windows[full - 1]
        reopens = (now // window.seconds + 1) * window.seconds
        raise RateLimited(
            f"{provider}'s {window.kind} budget of {window.limit} per {window.seconds} s is spent",
            retry_at=_at(reopens),
        )

    async def observe(self, provider: str, response: httpx.Response) -> datetime | None:
        now = time.time()
        for kind, header in (("all", "X-RateLimit-Usage"), ("read", "X-ReadRateLimit-Usage")):
            usage = _numbers(response.headers.get(header))
            windows = sorted((w for w in self._limits.get(provider, []) if w.kind == kind), key=_length)
            for window, used in zip(windows, usage, strict=False):
                await self._raise_to(
                    keys=[self._key(provider, window, now)], args=[used, window.seconds + 60]
                )
                if self._metrics:
                    self._metrics.used.labels(provider=provider, window=f"{kind}:{window.seconds}").set(
                        used / window.limit
                    )
        if response.status_code == 429:
            wait = retry_after_seconds(response)
            if wait is None:
                shortest = min(self._limits.get(provider, []), key=_length, default=None)
                wait = (now // shortest.seconds + 1) * shortest.seconds - now if shortest else 60.0
            await self._redis.set(self._closed_key(provider), now + wait, ex=int(wait) + 60)
            return _at(now + wait)
        return None


def _length(window: Window) -> int:
    return window.seconds


def _numbers(header: str | None) -> list[int]:
    if not header:
        return []
    try:
        return [int(part) for part in header.split(",")]
    except ValueError:
        return []


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
