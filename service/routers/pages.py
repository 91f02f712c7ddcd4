"""The browser faces of the service: the intranet search page at `/` and the chat widget.

`GET /` serves the search page; `/?q=...` puts the query into the search box (escaped)
and the page's script runs it, so any intranet page can point a plain HTML form here.
`GET /admin` is the editors' page: it holds no data and needs no key to load; its script
asks for the admin key and gets everything from /api/admin/* with it.
`GET /widget.js` is the embeddable widget; `GET /static/{name}` the pages' own files.

Caching: every file has a strong ETag (its content hash) and a conditional request gets
304. A URL that carries the current hash as `?v=` (the search page links its files that
way) is cached for a year as immutable; the bare `/widget.js`, which host pages embed
without a version, is revalidated on each use (`no-cache`), so a new release reaches
every intranet page at once. Clients that accept gzip get the pre-compressed body.
"""

from __future__ import annotations

import gzip
import hashlib
import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from service.dependencies import get_settings
from vectorstore.settings import Settings

# Pages and files, not API: kept out of the OpenAPI schema (and so out of API fuzzing).
router = APIRouter(tags=["pages"], include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# The search page loads only its own files and talks only to its own API.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'"
)
# The editors' page: the same, and no other site may frame it (it acts with the admin key).
ADMIN_CSP = PAGE_CSP + "; frame-ancestors 'none'"


@dataclass(frozen=True)
class Asset:
    """One static file held in memory with its version (content hash) and gzip body."""

    name: str
    media_type: str
    body: bytes
    gzipped: bytes
    version: str

    @classmethod
    def read(cls, path: Path) -> "Asset":
        body = path.read_bytes()
        return cls(
            name=path.name,
            media_type=MEDIA_TYPES[path.suffix],
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            version=hashlib.sha256(body).hexdigest()[:16],
        )

    def url(self, prefix: str = "static/") -> str:
        """Relative, versioned URL (relative so the page also works behind a path prefix)."""
        return f"{prefix}{self.name}?v={self.version}"


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """All files of service/static, read once per process (they ship with the package)."""
    return {p.name: Asset.read(p) for p in sorted(STATIC_DIR.iterdir()) if p.suffix in MEDIA_TYPES}


def asset_response(asset: Asset, request: Request, extra_headers: dict[str, str] | None = None) -> Response:
    """The file, or 304 if the client's copy is current; gzip when accepted."""
    use_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = f'"{asset.version}-gz"' if use_gzip else f'"{asset.version}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if request.query_params.get("v") == asset.version else REVALIDATE,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        **(extra_headers or {}),
    }
    presented = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in presented or "*" in presented:
        return Response(status_code=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    return Response(asset.gzipped if use_gzip else asset.body, media_type=asset.media_type, headers=headers)


@router.get("/", response_class=HTMLResponse, summary="Intranet search page (German); `/?q=...` runs a search")
def search_page(
    q: str = Query("", description="Search words or a question to run at once."),
    settings: Settings = Depends(get_settings),
) -> HTMLResponse:
    files = assets()
    query = q.strip()
    title = f"{query} – Tagungssuche" if query else "Tagungssuche"
    return _html_page(
        "search.html", {"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "same-origin"},
        title=html.escape(title), q=html.escape(query, quote=True), max_chars=str(settings.max_question_chars),
        css_url=files["search.css"].url(), js_url=files["search.js"].url(),
    )


@router.get("/admin", response_class=HTMLResponse, summary="The editors' page (German): documents, feedback, unanswered questions")
def admin_page() -> HTMLResponse:
    files = assets()
    return _html_page(
        "admin.html",
        {"Content-Security-Policy": ADMIN_CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"},
        base_css_url=files["search.css"].url(), css_url=files["admin.css"].url(), js_url=files["admin.js"].url(),
    )


def _html_page(template: str, headers: dict[str, str], **values: str) -> HTMLResponse:
    """A page from its template in static/, never cached (its asset URLs change with them)."""
    page = Template(assets()[template].body.decode("utf-8")).substitute(**values)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", **headers})


@router.api_route("/widget.js", methods=["GET", "HEAD"], summary="The embeddable chat widget (one <script> tag)")
def widget(request: Request) -> Response:
    # Host pages on other origins load it with a plain <script> tag; allow that explicitly.
    return asset_response(assets()["widget.js"], request, {"Cross-Origin-Resource-Policy": "cross-origin"})


@router.api_route("/static/{name}", methods=["GET", "HEAD"], summary="Files of the search page")
def static_file(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None or asset.name.endswith(".html"):
        raise HTTPException(status_code=404, detail=f"no static file {name!r}; the pages' files are search.css, search.js, admin.css and admin.js")
    return asset_response(asset, request)
