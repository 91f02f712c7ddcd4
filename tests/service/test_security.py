"""Who gets in: API keys for tools, admin keys, the widget's origin allow-list, open mode."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, base_env, tagungsbot
from tests.service.conftest import ADMIN_KEY, ALLOWED_ORIGIN, TOOL_KEYS, Guarded

QUESTION = {"question": "Wer hat BAKIRA vorgestellt?"}
KEY = TOOL_KEYS["security"]


def post_ask(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url + "/api/ask", json=QUESTION, headers=headers or {}, timeout=60)


def get_search(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(url + "/api/search", params={"q": "BAKIRA", "k": 2}, headers=headers or {}, timeout=60)


@pytest.mark.parametrize("call", [post_ask, get_search], ids=["ask", "search"])
def test_tool_routes_refuse_a_missing_key_with_401(guarded_server: Guarded, call) -> None:
    response = call(guarded_server.url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    detail = response.json()["detail"]
    assert "API key is required" in detail and "X-API-Key" in detail and "Authorization: Bearer" in detail


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": "not-a-key"}, {"Authorization": "Bearer not-a-key"}, {"X-API-Key": KEY + "x"}],
    ids=["x-api-key", "bearer", "near-miss"],
)
def test_tool_routes_refuse_a_wrong_key_with_403(guarded_server: Guarded, headers: dict[str, str]) -> None:
    for call in (post_ask, get_search):
        response = call(guarded_server.url, headers)
        assert response.status_code == 403
        assert "not valid" in response.json()["detail"]


@pytest.mark.parametrize("headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}], ids=["x-api-key", "bearer"])
def test_a_valid_key_in_either_header_gets_an_answer(guarded_server: Guarded, headers: dict[str, str]) -> None:
    response = post_ask(guarded_server.url, headers)
    assert response.status_code == 200, response.text
    assert "Königstein" in response.json()["answer"]
    assert response.headers["x-tagungsbot-store"]


def test_admin_routes_need_the_admin_key(guarded_server: Guarded) -> None:
    url = guarded_server.url + "/api/admin/stats"
    assert httpx.get(url, timeout=10).status_code == 401
    tool = httpx.get(url, headers={"X-API-Key": KEY}, timeout=10)
    assert tool.status_code == 403 and "TAGUNGSBOT_ADMIN_KEYS" in tool.json()["detail"]
    assert httpx.post(guarded_server.url + "/api/admin/reindex", headers={"X-API-Key": KEY}, timeout=10).status_code == 403
    admin = httpx.get(url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    assert admin.status_code == 200
    assert admin.json()["store"]["chunks"] > 0 and admin.json()["access"] == "keys"


def test_the_widget_from_an_allowed_origin_needs_no_key_and_gets_the_cors_grant(guarded_server: Guarded) -> None:
    preflight = httpx.options(
        guarded_server.url + "/api/ask",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    response = post_ask(guarded_server.url, {"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "Königstein" in response.json()["answer"]


def test_a_disallowed_origin_gets_no_cors_grant_and_no_answer(guarded_server: Guarded) -> None:
    evil = "http://evil.example"
    preflight = httpx.options(
        guarded_server.url + "/api/ask",
        headers={"Origin": evil, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    response = post_ask(guarded_server.url, {"Origin": evil})
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers


def test_public_pages_and_probes_need_no_key(guarded_server: Guarded) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert httpx.get(guarded_server.url + path, timeout=10).status_code == 200, path
    # The widget's pages (service/routers/pages.py) must stay public: never 401/403.
    for path in ("/", "/widget.js"):
        assert httpx.get(guarded_server.url + path, timeout=10).status_code not in (401, 403), path


def test_metrics_need_a_key_when_keys_are_configured(guarded_server: Guarded) -> None:
    assert httpx.get(guarded_server.url + "/metrics", timeout=10).status_code == 401
    assert httpx.get(guarded_server.url + "/metrics", headers={"X-API-Key": "nope"}, timeout=10).status_code == 403
    assert httpx.get(guarded_server.url + "/metrics", headers={"X-API-Key": KEY}, timeout=10).status_code == 200


def test_keys_never_appear_in_the_server_log(guarded_server: Guarded) -> None:
    post_ask(guarded_server.url, {"X-API-Key": KEY})
    log = guarded_server.server.log()
    assert "access: " in log and "API key(s)" in log
    assert KEY not in log and ADMIN_KEY not in log


def test_open_service_warns_at_startup(server: Server) -> None:
    assert "OPEN ACCESS" in server.log()
    assert "TAGUNGSBOT_API_KEYS" in server.log()


def test_open_service_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    result = tagungsbot("serve", "--host", "0.0.0.0", "--port", "9", env=base_env(tmp_path / "index"), timeout=60)
    assert result.returncode == 1
    assert "refusing to serve on 0.0.0.0 without API keys" in result.stderr
    assert "TAGUNGSBOT_ALLOW_OPEN=1" in result.stderr
