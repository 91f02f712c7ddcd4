"""A second web origin for browser tests: an intranet page that embeds the widget.

The widget is meant for pages served by other hosts, so the tests serve their host pages
from a tiny `http.server` on another port of 127.0.0.1 (another origin for the browser),
and the service has to answer them with CORS.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HostSite:
    """In-memory pages served on 127.0.0.1:<free port>; `add` a page, get its URL."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = pages.get(self.path.split("?", 1)[0])
                if body is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                    return
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="host-site", daemon=True)
        self.thread.start()

    @property
    def other_origin(self) -> str:
        """The same server under the name `localhost`: another origin for the browser, one that
        the services under test do not list in TAGUNGSBOT_CORS_ORIGINS."""
        return self.origin.replace("127.0.0.1", "localhost")

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html.encode("utf-8")
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def host_page(
    service_url: str, lang: str = "de", attrs: str = "", body: str = "", head: str = "", api: str | None = None
) -> str:
    """An intranet-like page with its own (deliberately clashing) styles and the widget tag."""
    api_attr = f' data-api="{api if api is not None else service_url}"'
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Intranet Jobcenter</title>
<style>
  body {{ font-family: Georgia, serif; margin: 0; background: #fafafa; }}
  header {{ background: #2b2b2b; color: #fff; padding: 16px 24px; font-size: 20px; }}
  main {{ padding: 24px; max-width: 720px; }}
  button {{ background: hotpink !important; font-size: 30px; }}
  p {{ color: #555; }}
</style>{head}</head>
<body><header>Intranet · Jobcenter Musterstadt</header>
<main><h1>Neuigkeiten</h1>
<p>Willkommen im Intranet. Fragen zur Fachtagung „Qualitätsarbeit im SGB II“ 2025 beantwortet der Assistent unten rechts.</p>
{body}</main>
<script src="{service_url}/widget.js"{api_attr}{attrs} defer></script>
</body></html>"""
