"""Client side of `tagungsbot reindex`: start a job on a running service and wait for it.

Uses only the standard library (urllib), so the command works without test extras.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from vectorstore.errors import TagungsbotError

POLL_S = 1.0


def _call(method: str, url: str, key: str | None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return exc.code, body
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TagungsbotError(
            f"cannot reach the service at {url} ({reason}); check --url and that `tagungsbot serve` is running"
        ) from exc


def reindex_remote(base_url: str, key: str | None, wait: bool = True, timeout_s: float = 600.0) -> dict[str, Any]:
    """Start a re-index job; with `wait`, poll until it ends. Raises `TagungsbotError` on refusal."""
    base = base_url.rstrip("/")
    status, body = _call("POST", f"{base}/api/admin/reindex", key)
    if status in {401, 403}:
        raise TagungsbotError(f"the service refused the admin key ({status}: {body.get('detail')}); pass --key or set TAGUNGSBOT_ADMIN_KEYS")
    if status not in {202, 409}:
        raise TagungsbotError(f"the service answered {status}: {body.get('detail', body)}")
    if status == 409:  # a job is running already: follow that one
        _, body = _call("GET", f"{base}/api/admin/reindex/status", key)
    deadline = time.monotonic() + timeout_s
    while wait and body.get("status") == "running":
        if time.monotonic() > deadline:
            raise TagungsbotError(f"re-index job {body.get('id')} still running after {timeout_s:g} s; check GET {base}/api/admin/reindex/status")
        time.sleep(POLL_S)
        _, body = _call("GET", f"{base}/api/admin/reindex/status", key)
    return body
