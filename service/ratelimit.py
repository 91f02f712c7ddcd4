"""Per-client rate limiting: an in-memory token bucket for each caller.

Each client (an API key, or the IP address of a widget visitor) has a bucket that holds
at most `burst` tokens and refills at `per_minute / 60` tokens a second. A request takes
one token; an empty bucket means 429 with `Retry-After` = seconds until the next token.

In memory, per process: the service runs one worker (see `tagungsbot serve`), so this is
exact. Replicas behind a load balancer each count on their own; put the limit in the
proxy if one limit across replicas is needed. Idle buckets are dropped so a scan from
many addresses cannot grow memory without bound.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Decision:
    """Outcome of one `RateLimiter.take`: allowed, or wait `retry_after_s` seconds."""

    allowed: bool
    retry_after_s: int = 0
    remaining: int = 0


class RateLimiter:
    """Token buckets keyed by client identity; thread-safe; `per_minute <= 0` turns it off."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.capacity = float(max(1, burst))
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def take(self, client: str) -> Decision:
        """Take one token from `client`'s bucket if there is one."""
        if not self.enabled:
            return Decision(True, 0, 0)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                self._store(client, tokens, now)
                return Decision(True, 0, int(tokens))
            self._store(client, tokens, now)
            wait = (1.0 - tokens) / self.rate
            return Decision(False, max(1, math.ceil(wait)), 0)

    def _store(self, client: str, tokens: float, now: float) -> None:
        if client not in self._buckets and len(self._buckets) >= self.max_clients:
            self._prune(now)
        self._buckets[client] = (tokens, now)

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled completely (they hold no information)."""
        full_after = self.capacity / self.rate
        for key in [k for k, (_, last) in self._buckets.items() if now - last >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:  # still full: drop the oldest half
            oldest = sorted(self._buckets.items(), key=lambda item: item[1][1])[: len(self._buckets) // 2]
            for key, _ in oldest:
                del self._buckets[key]

    def clients(self) -> int:
        """How many clients currently have a bucket (for /api/admin/stats)."""
        with self._lock:
            return len(self._buckets)
