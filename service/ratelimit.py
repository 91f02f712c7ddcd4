"""Per-client rate limiting: an in-memory token bucket for each caller.

Each client (an API key, or the IP address of a widget visitor) has a bucket that holds
at most `burst` tokens and refills at `per_minute / 60` tokens a second. A request takes
one token; an empty bucket means 429 with `Retry-After` = seconds until the next token.

Memory is bounded twice: at most `max_clients` buckets are kept (the least recently seen
client is forgotten first), and a client name longer than `MAX_KEY_CHARS` is stored as
its hash, so neither many clients nor long names can grow the table without bound.
Client IPs come from `service.security.ClientAddress` (X-Forwarded-For only from trusted
proxies; IPv6 clients grouped by /64).

In memory, per process: with `tagungsbot serve --workers N` each worker counts on its
own, so a client may make up to N times the limit. Replicas behind a load balancer each
count on their own too; put the limit in the proxy if one limit across them is needed.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from vectorstore.settings import Settings

MAX_KEY_CHARS = 64
"""Client names up to this length are kept as they are; longer ones as a fixed-size hash."""


@dataclass(frozen=True)
class Decision:
    """Outcome of one `RateLimiter.take`: allowed, or wait `retry_after_s` seconds."""

    allowed: bool
    retry_after_s: int = 0
    remaining: int = 0


class RateLimiter:
    """Token buckets keyed by client identity, least recently seen dropped first; thread-safe.

    `per_minute <= 0` turns limiting off.
    """

    def __init__(
        self,
        per_minute: int,
        burst: int,
        max_clients: int = Settings.rate_limit_max_clients,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.capacity = float(max(1, burst))
        self.rate = per_minute / 60.0
        self.max_clients = max(1, max_clients)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.evicted = 0

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def take(self, client: str) -> Decision:
        """Take one token from `client`'s bucket if there is one."""
        if not self.enabled:
            return Decision(True, 0, 0)
        client = bounded_key(client)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._store(client, tokens, now)
        if allowed:
            return Decision(True, 0, int(tokens))
        return Decision(False, max(1, math.ceil((1.0 - tokens) / self.rate)), 0)

    def _store(self, client: str, tokens: float, now: float) -> None:
        """Remember the bucket as the most recently seen; forget the least recent beyond `max_clients`."""
        self._buckets[client] = (tokens, now)
        self._buckets.move_to_end(client)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
            self.evicted += 1

    def clients(self) -> int:
        """How many clients currently have a bucket (for /api/admin/stats)."""
        with self._lock:
            return len(self._buckets)


def bounded_key(client: str) -> str:
    """`client` itself when short, else a 32-character hash of it (bounded memory per bucket)."""
    if len(client) <= MAX_KEY_CHARS:
        return client
    return "h:" + hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()[:32]
