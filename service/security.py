"""Who may call what: API keys for tools, an origin allow-list for the widget, admin keys.

Three ways in:

* **Tool callers** send a key from `TAGUNGSBOT_API_KEYS` as `Authorization: Bearer <key>`
  or `X-API-Key: <key>`. Missing key → 401, unknown key → 403.
* **The widget** runs in visitors' browsers, so any key in the page would be public. It
  is let in without a key when the request's `Origin` is in `TAGUNGSBOT_CORS_ORIGINS`,
  and is rate-limited per client IP. `Origin` can be forged by non-browser clients, so
  this path is deliberately limited (tool routes only, per-IP limit), never admin.
  The search page at `/` uses the same path: a browser marks its own page's requests
  `Sec-Fetch-Site: same-origin` (it sends no `Origin` on a same-origin GET).
* **Admins** send a key from `TAGUNGSBOT_ADMIN_KEYS` for /api/admin/*; an admin key also
  works on tool routes.

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
from typing import Literal

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

    def tool_caller(self, key: str | None, origin: str | None, client_ip: str, same_origin_page: bool = False) -> Caller:
        """The caller of a tool route, or an `HTTPException` 401/403."""
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
        if (origin and origin in self.origins) or same_origin_page:
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


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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
        same_origin_page=request.headers.get("sec-fetch-site") == "same-origin",
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
