"""`/docs` works offline: every file it loads comes from the service itself.

Real Debian chromium opens the page of the real server and records every request the
page makes; all of them must go to the service's own address, and the operations of
the API must be on screen (a page whose scripts came from a CDN would stay blank here).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server

pytestmark = [pytest.mark.browser]


@pytest.fixture()
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def test_swagger_ui_renders_the_operations_from_the_service_alone(page, widget_server: Server, artifacts_dir: Path) -> None:
    page.goto(widget_server.url + "/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/ask" in " ".join(paths) and "/api/search" in " ".join(paths)
    page.locator(".opblock-summary", has_text="/api/ask").first.click()  # an operation opens with its schema
    page.locator(".opblock-body").first.wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    outside = [url for url in page.requests if not url.startswith(widget_server.url + "/")]
    assert outside == [], f"/docs loaded files from elsewhere: {outside}"
    assert any("/docs/assets/swagger-ui-bundle.js" in url for url in page.requests)
    assert page.errors == []
    page.screenshot(path=str(artifacts_dir / "docs-offline.png"))


def test_docs_files_are_versioned_cached_and_unknown_ones_named(widget_server: Server) -> None:
    html = httpx.get(widget_server.url + "/docs", timeout=10)
    assert html.status_code == 200
    assert "cdn" not in html.text.lower() and "https://" not in html.text
    assert "connect-src 'self'" in html.headers["content-security-policy"]
    bundle = html.text.split('src="', 1)[1].split('"')[0]
    assert bundle.startswith("/docs/assets/swagger-ui-bundle.js?v=")
    js = httpx.get(widget_server.url + bundle, timeout=10)
    assert js.status_code == 200 and "immutable" in js.headers["cache-control"]
    assert js.headers["content-type"].startswith("text/javascript")
    missing = httpx.get(widget_server.url + "/docs/assets/nope.js", timeout=10)
    assert missing.status_code == 404 and "swagger-ui-bundle.js" in missing.json()["detail"]
    assert httpx.get(widget_server.url + "/redoc", timeout=10).status_code == 404, "no page that would call a CDN"
