"""The API documentation page `/docs` (Swagger UI), served offline.

FastAPI's built-in pages load Swagger UI and ReDoc from a public CDN: on an intranet
without internet they stay blank, and where there is internet they pull third-party
code into the intranet. Here `/docs` loads its script and style from the installed
`fastapi-offline` package (which ships Swagger UI 5), served from `/docs/assets/` with
the same caching as the search page's files. Nothing is fetched from anywhere but this
service; the page's Content-Security-Policy says so to the browser too.

There is no `/redoc`: ReDoc's bundle fetches its logo from its maker's CDN whatever the
options, and one documentation page is enough.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from service.routers.pages import Asset, asset_response

router = APIRouter(tags=["docs"], include_in_schema=False)

ASSET_PREFIX = "/docs/assets/"
TITLE = "tagungsbot"
# Swagger UI starts from an inline script, sets inline styles and draws icons as data:
# images; everything else must come from this service.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"
)
DOC_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
DOC_HEADERS = {"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def bundled_dir() -> Path:
    """Folder of the Swagger UI files inside the installed fastapi-offline package."""
    return Path(str(files("fastapi_offline") / "static"))


@lru_cache(maxsize=1)
def doc_assets() -> dict[str, Asset]:
    """The bundled files, read (and gzipped) once, on the first request for a docs page."""
    return {name: Asset.read(bundled_dir() / name) for name in DOC_FILES}


def _asset_url(request: Request, name: str) -> str:
    root = request.scope.get("root_path", "")
    return f"{root}{ASSET_PREFIX}{name}?v={doc_assets()[name].version}"


def _openapi_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{request.app.openapi_url}"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{TITLE} – API",
        swagger_js_url=_asset_url(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset_url(request, "swagger-ui.css"),
        swagger_favicon_url=_asset_url(request, "favicon.png"),
        oauth2_redirect_url=None,
    )
    return HTMLResponse(page.body, headers=DOC_HEADERS)


@router.api_route(ASSET_PREFIX + "{name}", methods=["GET", "HEAD"])
def docs_asset(name: str, request: Request) -> Response:
    asset = doc_assets().get(name)
    if asset is None:
        known = ", ".join(sorted(doc_assets()))
        raise HTTPException(status_code=404, detail=f"no documentation file {name!r}; the files are {known}")
    return asset_response(asset, request)
