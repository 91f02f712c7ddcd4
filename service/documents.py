"""The documents of the service, as the editors see them: corpus files, store, records.

`DocumentCatalog` joins three sources:

* the corpus folder (what will be answered from after the next ingest): every document
  file, its size and content hash (SHA-256 of the bytes, cached by size and mtime);
* the served store: title, event metadata, chunks; a corpus file the store does not hold
  (yet) is `indexed: false`, a stored document whose file is gone (a deletion waiting for
  its re-index) is listed with `in_corpus: false`;
* the database's `documents` table (when the service has one): when a document was added
  and under which name it was uploaded; without a record, `added_at` is the file's mtime.

The editor's corrections (`<file>.meta.json`) are shown over what the store holds, so a
correction is visible at once, before its re-index has finished.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ingest.event_metadata import METADATA_KEY, read_corrections, sidecar_of
from ingest.loaders import CorpusScanner, LoadError
from vectorstore.records import Document
from vectorstore.text.language import detect_language

log = logging.getLogger("tagungsbot.documents")

_TYPES = {".md": "md", ".markdown": "md", ".txt": "txt", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}


class DocumentRecords(Protocol):
    """What the catalog needs of the database (service.database.Database)."""

    def documents(self) -> list[Any]: ...


@dataclass(frozen=True)
class DocumentEntry:
    """One document as the admin API lists it."""

    id: str
    filename: str
    title: str
    event: str | None
    start_date: str | None
    end_date: str | None
    place: str | None
    organiser: str | None
    language: str | None
    type: str
    size_bytes: int
    chunks: int
    added_at: str | None
    content_hash: str
    metadata_corrected: bool
    indexed: bool
    in_corpus: bool = True
    original_filename: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CatalogListing:
    store_version: str | None
    store_created_at: str | None
    documents: list[DocumentEntry]


class DocumentCatalog:
    """Lists the documents; keeps file hashes cached between calls (by path, size and mtime)."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)
        self._hashes: dict[str, tuple[int, int, str]] = {}
        self._chunks: tuple[str | None, dict[str, int]] = (None, {})

    def run(self, store: Any | None, records: DocumentRecords | None = None) -> CatalogListing:
        """The catalog for the served store (None: no store yet) and the database's records."""
        stored: dict[str, Document] = dict(getattr(store, "documents", {}) or {})
        manifest = getattr(store, "manifest", None)
        chunk_counts = self._chunk_counts(store, getattr(manifest, "version", None))
        files = self.files()
        rows = self._records(records)
        entries: list[DocumentEntry] = []
        for doc_id in sorted(set(files) | set(stored)):
            path = files.get(doc_id)
            entries.append(self._entry(doc_id, path, stored.get(doc_id), chunk_counts.get(doc_id, 0), rows.get(doc_id), manifest))
        return CatalogListing(
            store_version=getattr(manifest, "version", None), store_created_at=getattr(manifest, "created_at", None),
            documents=entries,
        )

    def files(self) -> dict[str, Path]:
        """Document files of the corpus folder by id (path below the folder)."""
        if not self.corpus_dir.is_dir():
            return {}
        listing = CorpusScanner(self.corpus_dir).run()
        return {p.relative_to(self.corpus_dir).as_posix(): p for p in listing.files}

    def content_hashes(self) -> dict[str, str]:
        """SHA-256 of every corpus document → its id (to recognise an upload that is already there)."""
        found: dict[str, str] = {}
        for doc_id, path in self.files().items():
            digest = self.content_hash(path)
            if digest:
                found.setdefault(digest, doc_id)
        return found

    def content_hash(self, path: Path) -> str:
        """SHA-256 of the file's bytes ("" when it cannot be read)."""
        try:
            info = path.stat()
        except OSError:
            return ""
        key = str(path)
        cached = self._hashes.get(key)
        if cached is not None and cached[:2] == (info.st_size, info.st_mtime_ns):
            return cached[2]
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return ""
        self._hashes[key] = (info.st_size, info.st_mtime_ns, digest.hexdigest())
        return digest.hexdigest()

    def path_of(self, doc_id: str) -> Path | None:
        """The corpus file of `doc_id`, or None when there is none (ids outside the corpus never resolve)."""
        return self.files().get(doc_id)

    def _chunk_counts(self, store: Any, version: str | None) -> dict[str, int]:
        if store is None:
            return {}
        if self._chunks[0] == version and version is not None:
            return self._chunks[1]
        counts: dict[str, int] = {}
        for chunk in getattr(store, "chunks", ()) or ():
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        self._chunks = (version, counts)
        return counts

    def _records(self, records: DocumentRecords | None) -> dict[str, Any]:
        if records is None:
            return {}
        try:
            return {row.id: row for row in records.documents()}
        except Exception as exc:  # noqa: BLE001 - the list still works without the database (mtime instead)
            log.warning("document records cannot be read, showing file times instead: %s", exc)
            return {}

    def _entry(
        self, doc_id: str, path: Path | None, doc: Document | None, chunks: int, row: Any, manifest: Any,
    ) -> DocumentEntry:
        meta: dict[str, Any] = dict(doc.metadata) if doc is not None else {}
        title = doc.title if doc is not None else Path(doc_id).stem.replace("_", " ").replace("-", " ")
        corrections: dict[str, str] = {}
        if path is not None:
            try:
                corrections = read_corrections(path)
            except LoadError as exc:
                log.warning("%s", exc)
        for name, value in corrections.items():
            meta[METADATA_KEY[name]] = value
        title = corrections.get("title") or title
        size = 0
        added_at = getattr(row, "added_at", None)
        content_hash = ""
        if path is not None:
            try:
                info = path.stat()
                size = info.st_size
                added_at = added_at or datetime.fromtimestamp(info.st_mtime, timezone.utc).isoformat(timespec="seconds")
            except OSError:
                pass
            content_hash = self.content_hash(path)
        else:
            content_hash = str(getattr(doc, "source_hash", "") or "").split("+", 1)[0]
        stored_hash = (getattr(manifest, "files", {}) or {}).get(doc_id) if manifest is not None else None
        served_hash = (stored_hash or "").split("+", 1)[0]
        indexed = doc is not None and (path is None or served_hash == content_hash)
        language = meta.get("language") or (detect_language(doc.text[:4000]) if doc is not None and doc.text else None)
        return DocumentEntry(
            id=doc_id, filename=Path(doc_id).name, title=str(title), event=_text(meta.get("event")),
            start_date=_date(meta.get("event_start") or meta.get("date")), end_date=_date(meta.get("event_end")),
            place=_text(meta.get("place")), organiser=_text(meta.get("organiser")),
            language=_text(language), type=_TYPES.get(Path(doc_id).suffix.lower(), "other"), size_bytes=size,
            chunks=chunks if doc is not None else 0, added_at=added_at, content_hash=content_hash,
            metadata_corrected=bool(corrections) or (path is not None and sidecar_of(path).exists()),
            indexed=indexed, in_corpus=path is not None, original_filename=getattr(row, "original_filename", None),
        )


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value: object) -> str | None:
    """An ISO date (a timestamp is cut to its day)."""
    text = _text(value)
    return text[:10] if text and len(text) >= 10 and text[:4].isdigit() and text[4:5] == "-" else text
