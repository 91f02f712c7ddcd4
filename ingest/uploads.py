"""Uploaded documents: checked before they touch the corpus, then written atomically.

`UploadCheck` looks at every file of one upload (API or `tagungsbot documents add`) and
refuses the whole upload at the first problem, saying which file, what is wrong and what
to do:

* the filename must be a plain name that stays in the corpus folder: no `/` or `\\`, no
  `..`, no NUL or control characters, not hidden (leading dot), not a README, at most 200
  characters (422); it is never renamed silently;
* the size: at most `max_file_bytes` per file, at most `max_files` files (413);
* the type by content, not by name: a PDF starts with `%PDF-`, a Word document is a ZIP
  holding `word/document.xml`, Markdown/text/HTML must be text without NUL bytes; the
  name's extension must fit what the content is (415);
* the content must be readable by the loader that will ingest it; a PDF without a text
  layer (scanned pages) is refused with that reason: it needs OCR first (422);
* the same bytes already in the corpus (or twice in one upload) are recognised, as is a
  different document under the same name (409).

`UploadWriter` then writes the accepted files into the corpus folder's top level (their
id is their filename): each to a hidden temporary file, flushed to disk, then linked to
its name, which fails rather than overwrite a file that appeared meanwhile. If one
cannot be written, the ones already written by this upload are removed again.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from charset_normalizer import from_bytes

from ingest.cleaning import clean
from ingest.event_metadata import EventMetadata
from ingest.loaders import SIDECAR_SUFFIX, LoadError, NoTextLayerError, load_file

Refusal = Literal["empty", "name", "size", "count", "type", "unreadable", "no_text", "duplicate", "exists"]

STATUS: dict[Refusal, int] = {
    "empty": 422, "name": 422, "size": 413, "count": 413, "type": 415, "unreadable": 422, "no_text": 422, "duplicate": 409,
    "exists": 409,
}
"""The HTTP status of each kind of refusal."""

ACCEPTED_TYPES = "PDF with a text layer (.pdf), Word (.docx), Markdown (.md), plain text (.txt) and HTML (.html)"
MAX_NAME_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_KIND_OF_SUFFIX = {".pdf": "pdf", ".docx": "docx", ".md": "md", ".markdown": "md", ".txt": "txt", ".html": "html", ".htm": "html"}
_NAME_OF_KIND = {"pdf": "a PDF", "docx": "a Word document (.docx)", "md": "text", "txt": "text", "html": "text"}


class UploadRefused(Exception):
    """One file of an upload cannot be taken; nothing of the upload is written."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = STATUS[reason]


@dataclass(frozen=True)
class UploadCandidate:
    """One uploaded file as received: the name the client sent and its bytes, staged outside
    the corpus. The staged file's name must end in the filename's extension (the loader
    dispatches on it)."""

    filename: str
    staged: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class AcceptedUpload:
    """A checked file, ready to be written as `corpus_dir/doc_id`."""

    filename: str
    doc_id: str
    kind: str
    staged: Path
    size: int
    sha256: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)
    text_sample: str = ""  # the start of the cleaned text (language detection)


def sniff(head: bytes, path: Path) -> tuple[str | None, str]:
    """(kind, what it is) of a file's content: kind "pdf", "docx" or "text", or None with a
    description of what was found instead ("a Windows program (MZ)")."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf", "a PDF"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return None, "a damaged ZIP archive"
        if "word/document.xml" in names:
            return "docx", "a Word document (.docx)"
        if "xl/workbook.xml" in names:
            return None, "an Excel workbook (.xlsx)"
        if "ppt/presentation.xml" in names:
            return None, "a PowerPoint presentation (.pptx)"
        if "content.xml" in names:
            return None, "an OpenDocument file (.odt/.ods); save it as .docx or PDF"
        return None, "a ZIP archive"
    signatures = (
        (b"MZ", "a Windows program (.exe/.dll)"), (b"\x7fELF", "a Linux program (ELF)"),
        (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
        (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
        (b"\xd0\xcf\x11\xe0", "an old Office file (.doc/.xls); save it as .docx or PDF"),
        (b"{\\rtf", "an RTF document; save it as .docx or PDF"), (b"\x1f\x8b", "a gzip archive"),
        (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"),
    )
    for magic, description in signatures:
        if head.startswith(magic):
            return None, description
    if b"\x00" in head:
        return None, "binary data (NUL bytes), not text"
    return "text", "text"


def _is_text(path: Path) -> bool:
    raw = path.read_bytes()
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8-sig")
        return True
    except UnicodeDecodeError:
        return from_bytes(raw).best() is not None


def name_problem(filename: str) -> str | None:
    """Why `filename` cannot be a document's name in the corpus folder, or None."""
    if not filename or not filename.strip():
        return "the file has no name; send it with its filename"
    if "\x00" in filename:
        return "the name holds a NUL byte"
    if "/" in filename or "\\" in filename:
        return "the name holds a path ('/' or '\\'), which could point outside the corpus folder; send the bare filename"
    if filename in {".", ".."} or filename.startswith("."):
        return "the name starts with a dot (a hidden file, which is never ingested); rename the file"
    if _CONTROL.search(filename):
        return "the name holds control characters; rename the file"
    if filename != filename.strip():
        return "the name starts or ends with spaces; rename the file"
    if len(filename) > MAX_NAME_CHARS:
        return f"the name has {len(filename)} characters; at most {MAX_NAME_CHARS} are allowed, shorten it"
    if filename.lower() == "readme.md":
        return "README.md describes the corpus folder and is never ingested; rename the file"
    if filename.lower().endswith(SIDECAR_SUFFIX):
        return f"names ending in {SIDECAR_SUFFIX} hold metadata corrections, not documents; rename the file"
    return None


class UploadCheck:
    """Checks all files of one upload; `run` returns them accepted or raises `UploadRefused`.

    `existing` maps the SHA-256 of every document in the corpus to its id (duplicates).
    """

    def __init__(
        self, corpus_dir: Path, max_file_bytes: int, max_files: int, existing: Mapping[str, str],
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.existing = existing

    def run(self, candidates: Sequence[UploadCandidate]) -> list[AcceptedUpload]:
        if not candidates:
            raise UploadRefused("empty", "no file was sent; send one or more files in the form field 'files'")
        if len(candidates) > self.max_files:
            raise UploadRefused(
                "count", f"{len(candidates)} files in one upload; at most {self.max_files} are taken at once "
                f"(TAGUNGSBOT_MAX_UPLOAD_FILES): upload them in parts",
            )
        accepted: list[AcceptedUpload] = []
        names: dict[str, str] = {}
        hashes: dict[str, str] = {}
        for candidate in candidates:
            item = self._check(candidate)
            folded = item.doc_id.casefold()
            if folded in names:
                raise UploadRefused("exists", f"{candidate.filename}: sent twice in this upload (also as {names[folded]}); send it once")
            if item.sha256 in hashes:
                raise UploadRefused(
                    "duplicate", f"{candidate.filename}: has the same content as {hashes[item.sha256]} in this upload; send it once",
                )
            names[folded] = candidate.filename
            hashes[item.sha256] = candidate.filename
            accepted.append(item)
        return accepted

    def _check(self, candidate: UploadCandidate) -> AcceptedUpload:
        name = candidate.filename
        problem = name_problem(name)
        if problem:
            raise UploadRefused("name", f"{name!r}: {problem}")
        if candidate.size > self.max_file_bytes:
            raise UploadRefused(
                "size", f"{name}: {candidate.size:,} bytes is over the limit of {self.max_file_bytes:,} bytes per file; "
                f"split the document or compress its images (TAGUNGSBOT_MAX_FILE_BYTES)",
            )
        if candidate.size == 0:
            raise UploadRefused("unreadable", f"{name}: the file is empty; send the document with its content")
        suffix = Path(name).suffix.lower()
        named_kind = _KIND_OF_SUFFIX.get(suffix)
        with open(candidate.staged, "rb") as fh:
            head = fh.read(8192)
        kind, found = sniff(head, candidate.staged)
        if kind == "text" and not _is_text(candidate.staged):
            kind, found = None, "binary data, not text in a known encoding"
        if named_kind is None:
            raise UploadRefused(
                "type", f"{name}: files ending in {suffix or '(no extension)'} are not accepted (the content is {found}); "
                f"accepted are {ACCEPTED_TYPES}",
            )
        fits = kind == named_kind or (kind == "text" and named_kind in {"md", "txt", "html"})
        if not fits:
            raise UploadRefused(
                "type", f"{name}: the name says {_NAME_OF_KIND[named_kind]}, but the content is {found}; "
                f"accepted are {ACCEPTED_TYPES}. Upload the document itself, under a name with its real extension",
            )
        existing = self.existing.get(candidate.sha256)
        if existing is not None:
            raise UploadRefused(
                "duplicate", f"{name}: the same content is already in the corpus as {existing}; nothing to add "
                f"(delete {existing} first to replace it under another name)",
            )
        if (self.corpus_dir / name).exists() or any(p.name.casefold() == name.casefold() for p in self._top_level()):
            raise UploadRefused(
                "exists", f"{name}: a different document with this name is already in the corpus; delete it first "
                f"(DELETE /api/admin/documents/{name}) or rename the new file",
            )
        try:
            loaded = EventMetadata().run(load_file(candidate.staged, self.max_file_bytes), {})
            document = clean(loaded, candidate.staged.parent, candidate.sha256)
        except NoTextLayerError:
            raise UploadRefused(
                "no_text", f"{name}: the PDF has no text layer (its pages are images, e.g. a scan), so nothing in it "
                f"could be found or quoted; run OCR on it first (e.g. ocrmypdf) and upload the PDF with text",
            ) from None
        except LoadError as exc:
            reason = str(exc).replace(f"{candidate.staged}: ", "").replace(str(candidate.staged), name)
            raise UploadRefused("unreadable", f"{name}: {reason}") from None
        if not document.text.strip():
            raise UploadRefused("unreadable", f"{name}: holds no text that could be answered from; check the file")
        title = loaded.title or Path(name).stem.replace("_", " ").replace("-", " ")
        return AcceptedUpload(
            filename=name, doc_id=name, kind=named_kind, staged=candidate.staged, size=candidate.size,
            sha256=candidate.sha256, title=title, metadata=dict(loaded.metadata), text_sample=document.text[:4000],
        )

    def _top_level(self) -> list[Path]:
        try:
            return list(self.corpus_dir.iterdir())
        except OSError:
            return []


class UploadWriter:
    """Writes accepted uploads into the corpus folder; all or none."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)

    def run(self, accepted: Sequence[AcceptedUpload]) -> list[Path]:
        written: list[Path] = []
        try:
            for item in accepted:
                written.append(self._write(item))
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return written

    def _write(self, item: AcceptedUpload) -> Path:
        target = self.corpus_dir / item.doc_id
        tmp = self.corpus_dir / f".upload-{uuid.uuid4().hex}.part"
        try:
            with open(item.staged, "rb") as source, open(tmp, "xb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
                sink.flush()
                os.fsync(sink.fileno())
            os.chmod(tmp, 0o644)
            try:
                os.link(tmp, target)  # never replaces: fails if the name appeared meanwhile
            except FileExistsError:
                raise UploadRefused(
                    "exists", f"{item.filename}: a document with this name was added to the corpus meanwhile; "
                    f"delete it first or rename the new file",
                ) from None
            except OSError:
                if target.exists():
                    raise
                os.replace(tmp, target)  # a file system without hard links: rename (still atomic)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.corpus_dir)
        return target


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

