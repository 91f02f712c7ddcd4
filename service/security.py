"""Who may call what: API keys for tools, an origin allow-list for browsers, admin keys.

Three ways in:

* **Tool callers** send a key from `TAGUNGSBOT_API_KEYS` as `Authorization: Bearer <key>`
  or `X-API-Key: <key>`. Missing key → 401, unknown key → 403.
* **Browsers** (the widget on intranet pages, the search page at `/`) cannot hold a
  secret, so they are let in without a key when the request's `Origin` header is
  allowed, and are then rate-limited per client IP. The decision is made from `Origin`
  alone: `Sec-Fetch-*`, `Referer` and the like never open the door. Allowed are
    - the origins in `TAGUNGSBOT_CORS_ORIGINS` (pages that embed the widget), and
    - the service's own origin, `scheme://Host` of the request (the scheme from
      `X-Forwarded-Proto` when the peer is a trusted proxy), which is what the search
      page at `/` sends: browsers send `Origin` on every POST and every cross-origin
      request, and the page asks and searches with POST. A same-origin GET carries no
      `Origin` and so needs a key.
  `Origin` and `Host` can be forged by clients that are not browsers, so this path is
  deliberately limited: tool routes only (never admin or /metrics), per-IP limit. The
  keys keep tools from spending other callers' budget; they are not a secret boundary
  against someone who can reach the service with a browser anyway.
* **Admins** send a key from `TAGUNGSBOT_ADMIN_KEYS` for /api/admin/*; an admin key also
  works on tool routes.

The client IP (rate limits, logs) is the TCP peer. `X-Forwarded-For` is believed only
when the peer is in `TAGUNGSBOT_TRUSTED_PROXIES` (IPs or CIDRs, default none), and then
the right-most address that is not itself a trusted proxy is the client; a client that
writes its own `X-Forwarded-For` changes nothing. IPv6 clients count per /64 network,
the block one subscriber usually holds.

With no keys configured at all the service is open (local development). It then logs a
warning at start, and refuses to start on a non-loopback host unless
`TAGUNGSBOT_ALLOW_OPEN=1` says that this is intended.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Iterable, Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.ratelimit import RateLimiter
from vectorstore.errors import TagungsbotError
from vectorstore.settings import Settings

log = logging.getLogger("tagungsbot.security")

CallerKind = Literal["key", "admin", "widget", "open"]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (tools) or admin key.")
_bearer = HTTPBearer(auto_error=False, description="The same key as `Authorization: Bearer <key>`.")

KEY_HELP = "send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'; ask the service's administrator for one"


class ExposureError(TagungsbotError):
    """The service would run without keys on an address others can reach."""


@dataclass(frozen=True)
class Caller:
    """Who made a request; `identity` is the rate-limit bucket (never the raw key)."""

    kind: CallerKind
    identity: str


def key_id(key: str) -> str:
    """Short, non-reversible name for a key, safe for logs and bucket names."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _matches(candidate: str, keys: tuple[str, ...]) -> bool:
    """Constant-time membership test, so response timing does not leak key prefixes."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate.encode("utf-8"), key.encode("utf-8"))
    return found


def is_loopback(host: str) -> bool:
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AccessPolicy:
    """Decides, per request, whether the caller may use tool or admin routes."""

    def __init__(self, settings: Settings) -> None:
        self.api_keys = settings.api_keys
        self.admin_keys = settings.admin_keys
        self.origins = frozenset(settings.cors_origins)

    @property
    def tools_open(self) -> bool:
        """Tool routes need no key (no `TAGUNGSBOT_API_KEYS`)."""
        return not self.api_keys

    @property
    def fully_open(self) -> bool:
        """No keys of any kind: admin routes are open too (development on 127.0.0.1)."""
        return not self.api_keys and not self.admin_keys

    def tool_caller(self, key: str | None, origin: str | None, client_ip: str, own_origin: str | None = None) -> Caller:
        """The caller of a tool route, or an `HTTPException` 401/403.

        `origin` is the request's `Origin` header; `own_origin` the service's own origin as
        this request reached it (the search page's origin), or None when unknown.
        """
        if key:
            if _matches(key, self.admin_keys):
                return Caller("admin", "key:" + key_id(key))
            if _matches(key, self.api_keys):
                return Caller("key", "key:" + key_id(key))
            if self.tools_open:
                return Caller("open", "ip:" + client_ip)
            raise HTTPException(status_code=403, detail="the API key is not valid; check it for typos or ask the administrator for a new one")
        if self.tools_open:
            return Caller("open", "ip:" + client_ip)
        if origin and (origin in self.origins or (own_origin is not None and same_origin(origin, own_origin))):
            return Caller("widget", "ip:" + client_ip)
        raise HTTPException(
            status_code=401,
            detail=f"an API key is required: {KEY_HELP}",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def admin_caller(self, key: str | None) -> Caller:
        """The caller of an admin route, or an `HTTPException` 401/403."""
        if self.fully_open:
            return Caller("open", "admin")
        if not self.admin_keys:
            raise HTTPException(status_code=403, detail="admin operations are disabled: set TAGUNGSBOT_ADMIN_KEYS and restart the service")
        if not key:
            raise HTTPException(
                status_code=401, detail=f"an admin key is required: {KEY_HELP}", headers={"WWW-Authenticate": "Bearer"}
            )
        if _matches(key, self.admin_keys):
            return Caller("admin", "key:" + key_id(key))
        raise HTTPException(status_code=403, detail="this key may not run admin operations; use a key from TAGUNGSBOT_ADMIN_KEYS")


def check_exposure(settings: Settings) -> None:
    """Log how the service is protected; refuse to run open on a reachable address."""
    policy = AccessPolicy(settings)
    if not policy.tools_open:
        log.info(
            "access: %d API key(s), %d admin key(s), widget origins: %s",
            len(settings.api_keys), len(settings.admin_keys), ", ".join(settings.cors_origins) or "none",
        )
        return
    if not is_loopback(settings.host) and not settings.allow_open:
        raise ExposureError(
            f"refusing to serve on {settings.host} without API keys: anyone on the network could use it. "
            f"Set TAGUNGSBOT_API_KEYS (and TAGUNGSBOT_ADMIN_KEYS), serve on 127.0.0.1, or set "
            f"TAGUNGSBOT_ALLOW_OPEN=1 if an open service is really intended"
        )
    what = "the whole service, admin included," if policy.fully_open else "the tool routes"
    log.warning(
        "OPEN ACCESS: no TAGUNGSBOT_API_KEYS configured, %s can be used without a key on %s. "
        "Set TAGUNGSBOT_API_KEYS and TAGUNGSBOT_ADMIN_KEYS before exposing it.",
        what, settings.host,
    )


def _presented_key(api_key: str | None, bearer: HTTPAuthorizationCredentials | None) -> str | None:
    if api_key:
        return api_key.strip()
    if bearer and bearer.credentials:
        return bearer.credentials.strip()
    return None


def _default_port(scheme: str) -> str:
    return {"http": "80", "https": "443"}.get(scheme, "")


def same_origin(a: str, b: str) -> bool:
    """Whether two origins (`scheme://host[:port]`) are the same, default ports and case aside."""
    return _normal_origin(a) == _normal_origin(b)


def _normal_origin(origin: str) -> str:
    origin = origin.strip().lower().rstrip("/")
    scheme, sep, rest = origin.partition("://")
    if not sep:
        return origin
    port = _default_port(scheme)
    if port and rest.endswith(":" + port) and not rest.endswith("]"):
        rest = rest[: -len(port) - 1]
    return f"{scheme}://{rest}"


class ClientAddress:
    """The client's IP for a request: the TCP peer, or from `X-Forwarded-For` behind trusted proxies.

    `run(peer, forwarded_for)` walks the `X-Forwarded-For` addresses from the right while
    they are trusted proxies and returns the first one that is not; a value that is not an
    IP address ends the walk at the last trusted hop. IPv6 clients are named by their /64.
    """

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        networks = []
        for entry in trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError as exc:
                raise TagungsbotError(
                    f"TAGUNGSBOT_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network; "
                    f"give e.g. 10.0.0.0/8,192.168.1.5 (the addresses of your reverse proxies)"
                ) from exc
        self.trusted = tuple(networks)

    def is_trusted(self, address: str) -> bool:
        ip = _parse_ip(address)
        return ip is not None and any(ip in network for network in self.trusted)

    def run(self, peer: str, forwarded_for: Iterable[str] = ()) -> str:
        """The client IP of a request whose TCP peer is `peer` (a bucket name, not for display)."""
        client = _parse_ip(peer)
        if client is None:
            return peer or "unknown"
        if self.trusted and self.is_trusted(peer):
            hops = [part.strip() for value in forwarded_for for part in value.split(",")]
            for hop in reversed([h for h in hops if h]):
                ip = _parse_ip(hop)
                if ip is None:
                    break  # not written by a proxy we trust; keep the last trusted hop
                client = ip
                if not any(ip in network for network in self.trusted):
                    break
        return _bucket_name(client)

    def scheme(self, peer: str, scheme: str, forwarded_proto: str | None) -> str:
        """The scheme the browser used: `X-Forwarded-Proto` from a trusted proxy, else the connection's."""
        if forwarded_proto and self.trusted and self.is_trusted(peer):
            proto = forwarded_proto.split(",")[0].strip().lower()
            if proto in {"http", "https"}:
                return proto
        return scheme


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:5000"
        text = text.split(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _bucket_name(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_ip(request: Request) -> str:
    """The rate-limit name of the request's client (see `ClientAddress`)."""
    peer = request.client.host if request.client else ""
    return request.app.state.client_address.run(peer, request.headers.getlist("x-forwarded-for"))


def own_origin(request: Request) -> str | None:
    """The service's own origin as the browser sees it: scheme and `Host` of this request."""
    host = request.headers.get("host")
    if not host:
        return None
    peer = request.client.host if request.client else ""
    scheme = request.app.state.client_address.scheme(peer, request.url.scheme, request.headers.get("x-forwarded-proto"))
    return f"{scheme}://{host}"


def require_tool_access(
    request: Request,
    api_key: str | None = Depends(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Caller:
    """Router dependency for /api/ask and /api/search: key or allowed origin, then rate limit."""
    policy: AccessPolicy = request.app.state.access
    caller = policy.tool_caller(
        _presented_key(api_key, bearer),
        request.headers.get("origin"),
        client_ip(request),
        own_origin=own_origin(request),
    )
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = limiter.take(caller.identity)
    if not decision.allowed:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.rate_limited.labels(caller.kind).inc()
        raise HTTPException(
            status_code=429,
            detail=(
                f"too many requests: the limit is {limiter.per_minute} per minute per client; "
                f"retry in {decision.retry_after_s} s"
            ),
            headers={"Retry-After": str(decision.retry_after_s)},
        )
    return caller


def require_admin(
    request: Request,
    api_key: str | None = Depends(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Caller:
    """Router dependency for /api/admin/*."""
    policy: AccessPolicy = request.app.state.access
    return policy.admin_caller(_presented_key(api_key, bearer))


def require_any_key(
    request: Request,
    api_key: str | None = Depends(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    """For /metrics: any API or admin key when keys are configured (no widget path)."""
    policy: AccessPolicy = request.app.state.access
    if policy.fully_open:
        return
    key = _presented_key(api_key, bearer)
    if not key:
        raise HTTPException(status_code=401, detail=f"an API key is required: {KEY_HELP}", headers={"WWW-Authenticate": "Bearer"})
    if not (_matches(key, policy.api_keys) or _matches(key, policy.admin_keys)):
        raise HTTPException(status_code=403, detail="the API key is not valid; check it for typos or ask the administrator for a new one")
