"""Admin API for the documents of the store: list, upload, delete, correct metadata (issue 13).

Every change is written to the corpus folder and then starts a re-index (the same job as
POST /api/admin/reindex: an incremental ingest in a low-priority child process, then a
hot swap); if one is running, one follow-up job is queued instead, so a change is never
refused because of a running job. Follow it with GET /api/admin/reindex/status.

Uploads are checked whole before anything is written (see `ingest.uploads`): a refused
upload changes nothing in the corpus. Accepted files go to the top level of the corpus
folder; their id is their filename.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ingest.event_metadata import CORRECTABLE, check_corrections, read_corrections, write_corrections
from ingest.loaders import LoadError
from ingest.uploads import AcceptedUpload, UploadCheck, UploadRefused, UploadWriter
from service.documents import DocumentCatalog, DocumentEntry
from service.limits import RouteBodyLimit
from service.reindex import ModelNotLoaded, Reindexer
from service.routers.admin import ReindexJobOut, _job_out
from service.schemas import ErrorResponse
from service.security import require_admin
from service.upload_form import FormError, UploadForm
from vectorstore.errors import TagungsbotError
from vectorstore.settings import Settings
from vectorstore.text.language import detect_language

log = logging.getLogger("tagungsbot.documents")

UPLOAD_PATH = "/api/admin/documents"
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart headers and boundaries, per file
UPLOAD_TIMEOUT_S = 600.0  # large files on a slow line; the general request timeout is for questions

_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No admin key sent"},
    403: {"model": ErrorResponse, "description": "The key is not an admin key, or admin is disabled"},
}

router = APIRouter(prefix="/api/admin", tags=["documents"], dependencies=[Depends(require_admin)], responses=_errors)

_write_lock = threading.Lock()  # one corpus change at a time in this process (check, then write)


def upload_body_limit(settings: Settings) -> dict[tuple[str, str], RouteBodyLimit]:
    """The upload route's own body limit for `BodySizeLimit`: all files at their largest, plus form overhead."""
    limit = settings.max_upload_files * (settings.max_file_bytes + FORM_OVERHEAD_BYTES)
    message = (
        f"the upload is larger than {limit:,} bytes: at most {settings.max_upload_files} files of at most "
        f"{settings.max_file_bytes:,} bytes each are taken at once (TAGUNGSBOT_MAX_UPLOAD_FILES, "
        f"TAGUNGSBOT_MAX_FILE_BYTES); upload fewer or smaller files"
    )
    return {("POST", UPLOAD_PATH): RouteBodyLimit(limit, message)}


def upload_timeout() -> dict[tuple[str, str], float]:
    """The upload route's own time limit for `RequestTimeout`."""
    return {("POST", UPLOAD_PATH): UPLOAD_TIMEOUT_S}


class DocumentOut(BaseModel):
    id: str = Field(..., description="Path below the corpus folder; URL-encode it in paths.")
    filename: str
    title: str
    event: str | None = None
    start_date: str | None = Field(None, description="First day of the event (YYYY-MM-DD).")
    end_date: str | None = Field(None, description="Last day of the event (YYYY-MM-DD).")
    place: str | None = None
    organiser: str | None = None
    language: str | None = None
    type: str = Field(..., description="pdf | docx | md | txt | html")
    size_bytes: int
    chunks: int = Field(..., description="Passages of the document in the served store (0: not indexed).")
    added_at: str | None = Field(None, description="When it was added (upload time, else the file's time).")
    content_hash: str = Field(..., description="SHA-256 of the file's bytes.")
    metadata_corrected: bool = Field(..., description="An editor corrected its metadata (stored beside it as <file>.meta.json).")
    indexed: bool = Field(..., description="The served store holds this version of the file.")
    in_corpus: bool = Field(True, description="False: removed from the corpus, still served until its re-index ends.")
    original_filename: str | None = None


class DocumentList(BaseModel):
    store_version: str | None
    store_created_at: str | None
    documents: list[DocumentOut]


class UploadOut(BaseModel):
    accepted: list[DocumentOut]
    job: ReindexJobOut


class RemovedOut(BaseModel):
    removed: str
    job: ReindexJobOut


class MetadataIn(BaseModel):
    """Corrections of a document's metadata; a field left out stays as it is, null (or "") clears it."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=300)
    event: str | None = Field(None, max_length=300)
    start_date: str | None = Field(None, max_length=300, description="YYYY-MM-DD")
    end_date: str | None = Field(None, max_length=300, description="YYYY-MM-DD")
    place: str | None = Field(None, max_length=300)
    organiser: str | None = Field(None, max_length=300)


class MetadataOut(BaseModel):
    document: DocumentOut
    job: ReindexJobOut


def _catalog(request: Request) -> DocumentCatalog:
    """One catalog per app (it caches file hashes)."""
    app_state = request.app.state
    catalog = getattr(app_state, "document_catalog", None)
    if catalog is None:
        catalog = DocumentCatalog(app_state.tagungsbot.settings.corpus_dir)
        app_state.document_catalog = catalog
    return catalog


def _database(request: Request) -> Any | None:
    return getattr(request.app.state, "database", None)


def _reindexer(request: Request) -> Reindexer:
    return request.app.state.reindexer


def _served(request: Request) -> Any | None:
    """The served store, or None."""
    return getattr(request.app.state.tagungsbot.current(), "store", None)


def _out(entry: DocumentEntry) -> DocumentOut:
    return DocumentOut(**entry.to_json())


def _ready(reindexer: Reindexer) -> None:
    """Refuse a change (before anything is written) when no re-index could take it up."""
    if reindexer.state.embedder is None:
        raise HTTPException(
            status_code=503, headers={"Retry-After": "30"},
            detail="the embedding model is not loaded, so no document can be ingested now; see /readyz, fix that and restart the service",
        )


def _start(reindexer: Reindexer) -> ReindexJobOut:
    try:
        return _job_out(reindexer.request())
    except ModelNotLoaded as exc:
        raise HTTPException(status_code=503, detail=f"the change is saved, but {exc}", headers={"Retry-After": "30"}) from exc
    except TagungsbotError as exc:
        raise HTTPException(status_code=503, detail=f"the change is saved, but the re-index cannot start: {exc}") from exc


@router.get("/documents", response_model=DocumentList, summary="Every document: corpus files and the served store")
def list_documents(request: Request) -> DocumentList:
    listing = _catalog(request).run(_served(request), _database(request))
    return DocumentList(
        store_version=listing.store_version, store_created_at=listing.store_created_at,
        documents=[_out(e) for e in listing.documents],
    )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            }
        },
    }
}


@router.post(
    "/documents",
    status_code=202,
    response_model=UploadOut,
    openapi_extra=_UPLOAD_BODY,
    responses={
        400: {"model": ErrorResponse, "description": "Not a multipart form"},
        409: {"model": ErrorResponse, "description": "The same content, or another document of that name, is in the corpus"},
        413: {"model": ErrorResponse, "description": "A file or the upload is too large, or too many files"},
        415: {"model": ErrorResponse, "description": "A file's content is not of an accepted type (or not the type its name says)"},
        422: {"model": ErrorResponse, "description": "A bad filename, a PDF without a text layer, an unreadable file"},
        503: {"model": ErrorResponse, "description": "The model is not loaded: nothing can be ingested"},
    },
    summary="Upload documents (.pdf, .docx, .md, .txt, .html; field 'files'); starts an incremental re-index",
)
async def upload_documents(request: Request) -> UploadOut:
    settings: Settings = request.app.state.tagungsbot.settings
    reindexer = _reindexer(request)
    _ready(reindexer)
    catalog = _catalog(request)
    with tempfile.TemporaryDirectory(prefix="tagungsbot-upload-") as folder:
        form = UploadForm(Path(folder), settings.max_file_bytes, settings.max_upload_files)
        try:
            candidates = await form.run(request)
        except UploadRefused as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from None
        except FormError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

        def check_and_write() -> list[AcceptedUpload]:
            with _write_lock:
                check = UploadCheck(settings.corpus_dir, settings.max_file_bytes, settings.max_upload_files, catalog.content_hashes())
                accepted = check.run(candidates)
                settings.corpus_dir.mkdir(parents=True, exist_ok=True)
                UploadWriter(settings.corpus_dir).run(accepted)
                return accepted

        try:
            accepted = await run_in_threadpool(check_and_write)
        except UploadRefused as exc:
            log.info("upload refused (%d): %s", exc.status, exc)
            raise HTTPException(status_code=exc.status, detail=str(exc)) from None
        except OSError as exc:
            raise HTTPException(
                status_code=503, detail=f"the corpus folder cannot be written ({exc.strerror or exc}); nothing was added: "
                "make it writable for the service user",
            ) from exc
    added_at = _record(request, accepted)
    log.info("uploaded %s", ", ".join(a.doc_id for a in accepted))
    job = _start(reindexer)
    return UploadOut(accepted=[_accepted_out(a, added_at, settings.corpus_dir) for a in accepted], job=job)


def _accepted_out(item: AcceptedUpload, added_at: str, corpus_dir: Path) -> DocumentOut:
    meta = item.metadata
    return DocumentOut(
        id=item.doc_id, filename=item.filename, title=item.title, event=_text(meta.get("event")),
        start_date=_text(meta.get("event_start")), end_date=_text(meta.get("event_end")), place=_text(meta.get("place")),
        organiser=_text(meta.get("organiser")),
        language=_text(meta.get("language")) or (detect_language(item.text_sample) if item.text_sample else None),
        type=item.kind, size_bytes=item.size, chunks=0, added_at=added_at, content_hash=item.sha256,
        metadata_corrected=False, indexed=False, in_corpus=(corpus_dir / item.doc_id).exists(),
        original_filename=item.filename,
    )


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _record(request: Request, accepted: list[AcceptedUpload]) -> str:
    """Record the uploads in the database (when there is one); returns their time of adding."""
    added_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    database = _database(request)
    if database is None:
        return added_at
    for item in accepted:
        try:
            database.record_document(item.doc_id, item.sha256, item.size, original_filename=item.filename, added_at=added_at)
        except Exception as exc:  # noqa: BLE001 - the document is in the corpus; only its upload time is not kept
            log.warning("the upload of %s is not recorded in the database: %s", item.doc_id, exc)
    return added_at


def _document_path(request: Request, doc_id: str) -> Path:
    path = _catalog(request).path_of(doc_id)
    if path is None:
        raise HTTPException(
            status_code=404, detail=f"no document {doc_id!r} in the corpus; GET /api/admin/documents lists the ids",
        )
    return path


# Declared before DELETE /documents/{doc_id:path}, whose path would also match ".../metadata":
# so a wrong method on .../metadata is answered 405 with "Allow: PUT".
@router.put(
    "/documents/{doc_id:path}/metadata",
    status_code=202,
    response_model=MetadataOut,
    responses={
        400: {"model": ErrorResponse, "description": "The body is not JSON in UTF-8"},
        404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
    },
    summary="Correct a document's event metadata (stored beside it, applied at ingest); starts a re-index",
)
def correct_metadata(doc_id: str, body: MetadataIn, request: Request) -> MetadataOut:
    reindexer = _reindexer(request)
    _ready(reindexer)
    with _write_lock:
        path = _document_path(request, doc_id)
        try:
            current = read_corrections(path)
        except LoadError:
            current = {}  # a broken sidecar is replaced by this correction
        sent = body.model_dump(include=body.model_fields_set)
        merged = {k: v for k, v in {**current, **sent}.items() if k in CORRECTABLE and v not in (None, "")}
        try:
            checked = check_corrections(merged)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"{doc_id}: {exc}") from None
        try:
            write_corrections(path, checked)
        except OSError as exc:
            raise HTTPException(
                status_code=503, detail=f"the corrections of {doc_id} cannot be saved ({exc.strerror or exc}); "
                "make the corpus folder writable",
            ) from exc
    log.info("metadata of %s corrected: %s", doc_id, ", ".join(sorted(checked)) or "all corrections cleared")
    job = _start(reindexer)
    listing = _catalog(request).run(_served(request), _database(request))
    entry = next(e for e in listing.documents if e.id == doc_id)
    return MetadataOut(document=_out(entry), job=job)


@router.delete(
    "/documents/{doc_id:path}",
    status_code=202,
    response_model=RemovedOut,
    responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Remove a document (and its metadata corrections) from the corpus; starts a re-index",
)
def delete_document(doc_id: str, request: Request) -> RemovedOut:
    reindexer = _reindexer(request)
    _ready(reindexer)
    with _write_lock:
        path = _document_path(request, doc_id)
        try:
            path.unlink()
        except FileNotFoundError:
            raise HTTPException(status_code=404, detail=f"no document {doc_id!r} in the corpus (it was removed meanwhile)") from None
        except OSError as exc:
            raise HTTPException(
                status_code=503, detail=f"{doc_id} cannot be removed ({exc.strerror or exc}); make the corpus folder writable",
            ) from exc
        write_corrections(path, {})
    database = _database(request)
    if database is not None:
        try:
            database.forget_document(doc_id)
        except Exception as exc:  # noqa: BLE001
            log.warning("the record of %s stays in the database: %s", doc_id, exc)
    log.info("removed %s", doc_id)
    return RemovedOut(removed=doc_id, job=_start(reindexer))
