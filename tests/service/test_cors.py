"""CORS: the service grants the origins in TAGUNGSBOT_CORS_ORIGINS and nobody else.

`widget_server` allows exactly `host_site`'s origin; `other_site` is a second local
origin that is not listed. Checked on the wire (headers) and in real Chromium, which is
what actually enforces CORS.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server
from tests.service.hostsite import HostSite, host_page

FETCH_ASK = """async (api) => {
  try {
    const r = await fetch(api + '/api/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                             body: JSON.stringify({question: 'Wer hat BAKIRA vorgestellt?'})});
    return {status: r.status};
  } catch (e) { return {error: e.name}; }
}"""


@pytest.fixture(scope="module")
def other_site() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.close()


def preflight(server: Server, origin: str) -> httpx.Response:
    return httpx.options(
        server.url + "/api/ask",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )


def test_allowed_origin_gets_a_grant(widget_server: Server, host_site: HostSite) -> None:
    response = preflight(widget_server, host_site.origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == host_site.origin
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()

    search = httpx.get(widget_server.url + "/api/search", params={"q": "BAKIRA"}, headers={"Origin": host_site.origin}, timeout=60)
    assert search.headers["access-control-allow-origin"] == host_site.origin
    # The widget reads Retry-After on 429/503, which cross-origin scripts may only see if exposed.
    assert "retry-after" in search.headers["access-control-expose-headers"].lower()


def test_other_origin_gets_no_grant(widget_server: Server, other_site: HostSite) -> None:
    response = preflight(widget_server, other_site.origin)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    search = httpx.get(widget_server.url + "/api/search", params={"q": "BAKIRA"}, headers={"Origin": other_site.origin}, timeout=60)
    assert "access-control-allow-origin" not in search.headers


@pytest.mark.browser
def test_browser_lets_only_the_allowed_origin_call_the_api(
    browser, widget_server: Server, host_site: HostSite, other_site: HostSite
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(host_site.add("/cors-ok.html", "<!doctype html><title>ok</title>"))
        assert page.evaluate(FETCH_ASK, widget_server.url)["status"] == 200

        page.goto(other_site.add("/cors-no.html", "<!doctype html><title>no</title>"))
        assert page.evaluate(FETCH_ASK, widget_server.url) == {"error": "TypeError"}

        # The widget on the unlisted origin explains itself instead of failing silently: the page is
        # not cleared for the assistant (the widget tells a CORS refusal from a network failure).
        page.goto(other_site.add("/widget-no.html", host_page(widget_server.url)))
        page.click(".launcher")
        page.fill("#tb-q", "Wer hat BAKIRA vorgestellt?")
        page.press("#tb-q", "Enter")
        assert "nicht freigeschaltet" in page.locator(".msg.error").inner_text(timeout=30_000)
    finally:
        context.close()
