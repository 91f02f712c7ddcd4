"""Read corpus files into structured blocks: headings, paragraphs, list items.

Supported: `.md` (optional YAML front matter for metadata), `.txt`, `.html`/`.htm`
(main text only, through trafilatura), `.pdf` (the text layer, through pypdf; /Title and
/CreationDate as metadata) and `.docx` (through python-docx: "Heading N"/"Überschrift N" and
Title paragraphs become headings, list paragraphs list items; core properties as metadata).
Every failure becomes a `LoadError` that names the file and says what to do.

An editor's metadata corrections live beside a document as `<file>.meta.json` (see
`ingest.event_metadata`); the scanner knows these sidecars and never lists them as documents.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from charset_normalizer import from_bytes

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
SIDECAR_SUFFIX = ".meta.json"
"""`bericht.pdf.meta.json` holds the editor's metadata corrections of `bericht.pdf`."""

BlockKind = Literal["heading", "paragraph", "list_item"]


class LoadError(Exception):
    """A corpus file could not be read; the message names the file and the fix."""


class NoTextLayerError(LoadError):
    """A PDF whose pages hold no text (scanned images): it needs OCR before it can be read."""


@dataclass(frozen=True)
class Block:
    """A unit of text; `section` labels a new section without adding text (PDF pages)."""

    kind: BlockKind
    text: str
    level: int = 0
    section: str | None = None


@dataclass(frozen=True)
class LoadedFile:
    """What a loader found in one file, before cleaning."""

    path: Path
    title: str | None
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)
    head: tuple[str, ...] = ()
    """The first lines as laid out, where the blocks join them (PDF): labelled metadata
    ("Ort: Husum") is looked for there (see `ingest.event_metadata`)."""


def read_text_file(path: Path, max_bytes: int) -> str:
    """File content as text: UTF-8 if valid, else the detected encoding; refuses binaries."""
    raw = _read_bytes(path, max_bytes)
    if b"\x00" in raw[:8192]:
        raise LoadError(f"{path}: looks like a binary file (NUL bytes), not text; remove it from the corpus folder")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(raw).best()
        if best is None:
            raise LoadError(f"{path}: not valid UTF-8 and no text encoding could be detected; save it as UTF-8") from None
        return str(best)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(
                f"{path}: {size:,} bytes is over the limit of {max_bytes:,} bytes; split the file "
                f"or raise TAGUNGSBOT_MAX_FILE_BYTES"
            )
        return path.read_bytes()
    except PermissionError as exc:
        raise LoadError(f"{path}: no permission to read it; fix its permissions (chmod a+r)") from exc
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _inline_text(token: Any) -> str:
    """Plain text of a markdown-it inline token: emphasis and links reduced to their words."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in {"text", "code_inline", "html_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def markdown_blocks(markdown: str) -> list[Block]:
    """Headings, paragraphs and list items of a Markdown text, in reading order."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    blocks: list[Block] = []
    context: list[str] = []
    ordinal: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.type in {"bullet_list_open", "ordered_list_open"}:
            context.append(tok.type)
            ordinal.append(int(tok.attrGet("start") or 1) if tok.type == "ordered_list_open" else 0)
        elif tok.type in {"bullet_list_close", "ordered_list_close"}:
            context.pop()
            ordinal.pop()
        elif tok.type == "heading_open":
            blocks.append(Block("heading", _inline_text(tokens[i + 1]).strip(), level=int(tok.tag[1:])))
        elif tok.type == "paragraph_open":
            text = _inline_text(tokens[i + 1]).strip()
            if not text:
                continue
            if context and tokens[i - 1].type == "list_item_open":
                if context[-1] == "ordered_list_open":
                    text = f"{ordinal[-1]}. {text}"
                    ordinal[-1] += 1
                else:
                    text = f"• {text}"
                blocks.append(Block("list_item", text))
            elif context:
                blocks.append(Block("list_item", text))
            else:
                blocks.append(Block("paragraph", text))
        elif tok.type in {"fence", "code_block"} and tok.content.strip():
            blocks.append(Block("paragraph", tok.content.strip()))
    return blocks


def load_markdown(path: Path, max_bytes: int) -> LoadedFile:
    import frontmatter

    text = read_text_file(path, max_bytes)
    try:
        post = frontmatter.loads(text)
        metadata, body = dict(post.metadata), post.content
    except Exception as exc:  # YAML errors come in many types
        raise LoadError(f"{path}: the YAML front matter between the '---' lines is invalid ({exc}); fix or remove it") from exc
    metadata = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in metadata.items()}
    blocks = markdown_blocks(body)
    title = metadata.get("title") or next((b.text for b in blocks if b.kind == "heading"), None)
    return LoadedFile(path, str(title) if title else None, blocks, metadata)


_HEADING_LINE = re.compile(r"^[^\s.!?:;,][^.!?]{1,100}$")


def load_plain_text(path: Path, max_bytes: int) -> LoadedFile:
    """Paragraphs split at blank lines; the first short line counts as the title."""
    text = read_text_file(path, max_bytes)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    blocks = [Block("paragraph", p) for p in paragraphs]
    title = None
    if paragraphs and _HEADING_LINE.match(paragraphs[0]) and len(paragraphs) > 1:
        title = paragraphs[0]
        blocks[0] = Block("heading", title, level=1)
    return LoadedFile(path, title, blocks, {})


def load_html(path: Path, max_bytes: int) -> LoadedFile:
    """Main text of a web page (navigation, footers and scripts dropped) as Markdown blocks."""
    import trafilatura

    html = read_text_file(path, max_bytes)
    extracted = trafilatura.extract(
        html, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
    )
    if not extracted or not extracted.strip():
        raise LoadError(f"{path}: no main text found in the HTML; check that the page holds text, not only scripts")
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None and meta.title else None
    blocks = markdown_blocks(extracted)
    return LoadedFile(path, title, blocks, {"title": title} if title else {})


def load_pdf(path: Path, max_bytes: int) -> LoadedFile:
    """Text layer of a PDF, one section per page ("Seite N")."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    _read_bytes(path, max_bytes)  # size and permission checks
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise LoadError(f"{path}: the PDF is encrypted; save an unprotected copy into the corpus folder")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        info_title = info.title if info else None
        created = _pdf_date(info.get("/CreationDate")) if info else None
    except LoadError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise LoadError(f"{path}: the PDF cannot be read ({exc}); check that the file is a complete PDF") from exc
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", page) if p.strip()]
        if not paragraphs:
            continue
        blocks.append(Block("paragraph", paragraphs[0], section=f"Seite {number}"))
        blocks.extend(Block("paragraph", p) for p in paragraphs[1:])
    if not blocks:
        raise NoTextLayerError(
            f"{path}: the PDF has no text layer (its pages are images, e.g. scanned); run OCR on it first "
            f"(e.g. ocrmypdf) and use the PDF with text"
        )
    title = str(info_title).strip() if info_title and str(info_title).strip() else None
    metadata: dict[str, Any] = {}
    if title:
        metadata["title"] = title
    if created:
        metadata["created"] = created
    head = tuple(line.strip() for line in pages[0].splitlines()[:HEAD_LINES] if line.strip()) if pages else ()
    return LoadedFile(path, title, blocks, metadata, head)


HEAD_LINES = 30
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?")


def _pdf_date(value: object) -> str | None:
    """ISO date of a PDF date string ("D:20251008120000+02'00'" → "2025-10-08"), or None."""
    match = _PDF_DATE.match(str(value or "").strip())
    if not match:
        return None
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    return f"{year}-{month}-{day}"


_DOCX_HEADING = re.compile(r"^(?:heading|überschrift)\s*(\d)$", re.I)
_DOCX_TITLE = {"title", "titel"}
_DOCX_LIST = re.compile(r"^(?:list|liste|aufzählung|listenabsatz)", re.I)


def load_docx(path: Path, max_bytes: int) -> LoadedFile:
    """Paragraphs and tables of a Word document in reading order.

    Heading styles ("Heading 2", German "Überschrift 2") become headings of that level, the
    Title style a level-1 heading; list styles and numbered paragraphs become list items.
    The core properties give `title` and `created` (ISO date).
    """
    import zipfile

    import docx
    from docx.table import Table

    _read_bytes(path, max_bytes)  # size and permission checks
    try:
        document = docx.Document(str(path))
        items = list(document.iter_inner_content())
        props = document.core_properties
        prop_title = (props.title or "").strip() or None
        created = props.created.date().isoformat() if props.created else None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError(f"{path}: the Word document cannot be read ({exc}); save it again as .docx in Word or LibreOffice") from exc
    except Exception as exc:  # python-docx raises its own and lxml's errors for damaged parts
        raise LoadError(f"{path}: the Word document cannot be read ({type(exc).__name__}: {exc}); save it again as .docx") from exc
    blocks: list[Block] = []
    title: str | None = prop_title
    for item in items:
        if isinstance(item, Table):
            for row in item.rows:
                cells = list(dict.fromkeys(" ".join(c.text.split()) for c in row.cells))
                text = " | ".join(c for c in cells if c)
                if text:
                    blocks.append(Block("paragraph", text))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        heading = _DOCX_HEADING.match(style.strip())
        numbered = item._p.pPr is not None and item._p.pPr.numPr is not None
        if style.strip().lower() in _DOCX_TITLE:
            title = title or text
            blocks.append(Block("heading", text, level=1))
        elif heading:
            blocks.append(Block("heading", text, level=max(1, int(heading.group(1)))))
        elif _DOCX_LIST.match(style.strip()) or numbered:
            blocks.append(Block("list_item", f"• {text}"))
        else:
            blocks.append(Block("paragraph", text))
    if not blocks:
        raise LoadError(f"{path}: the Word document holds no text; fill it or remove it")
    title = title or next((b.text for b in blocks if b.kind == "heading"), None)
    metadata: dict[str, Any] = {}
    if prop_title:
        metadata["title"] = prop_title
    if created:
        metadata["created"] = created
    return LoadedFile(path, title, blocks, metadata)


def load_file(path: Path, max_bytes: int) -> LoadedFile:
    """Dispatch on the file suffix; raise `LoadError` for unsupported or unreadable files."""
    suffix = path.suffix.lower()
    if suffix in {".md", ".markdown"}:
        return load_markdown(path, max_bytes)
    if suffix == ".txt":
        return load_plain_text(path, max_bytes)
    if suffix in {".html", ".htm"}:
        return load_html(path, max_bytes)
    if suffix == ".pdf":
        return load_pdf(path, max_bytes)
    if suffix == ".docx":
        return load_docx(path, max_bytes)
    raise LoadError(f"{path}: unsupported file type {suffix!r}; supported are {', '.join(SUPPORTED_SUFFIXES)}")


@dataclass(frozen=True)
class SkippedFile:
    """A corpus entry that was not ingested, and why (shown in the ingest report and log)."""

    path: str
    reason: str


@dataclass(frozen=True)
class CorpusListing:
    """What a scan of the corpus folder found: the files to ingest and everything left out."""

    files: list[Path]
    skipped: list[SkippedFile]


class CorpusScanner:
    """Lists the documents below a corpus folder without ever leaving it.

    Regular files and folders are walked without following symlinks. A symlink is followed
    only when its target resolves inside the corpus folder, and only to something not
    already listed (a file is ingested once, a folder walked once, so loops end). Every
    entry left out is reported with the reason: a symlink pointing outside the corpus, a
    symlink loop, a broken symlink, an unreadable folder, an unsupported type, a special
    file (FIFO, socket, device), a hidden entry or a README. A metadata sidecar
    (`<file>.meta.json`) beside its document is part of that document and not listed; one
    whose document is gone is reported.
    """

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)

    def run(self) -> CorpusListing:
        root = Path(os.path.realpath(self.corpus_dir))
        found: dict[str, Path] = {}  # real path -> path below the corpus folder (as listed)
        walked: set[str] = set()  # real paths of folders already walked
        skipped: list[SkippedFile] = []
        links: list[Path] = []
        self._walk(self.corpus_dir, str(root), found, walked, skipped, links)
        # Symlinks last: a real file or folder is always listed under its own name first.
        while links:
            links.sort(key=lambda p: p.as_posix())
            link = links.pop(0)
            self._follow(link, root, found, walked, skipped, links)
        files = sorted(found.values(), key=lambda p: self._rel(p))
        skipped.sort(key=lambda s: s.path)
        return CorpusListing(files, skipped)

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.corpus_dir).as_posix()

    def _walk(
        self, folder: Path, real: str, found: dict[str, Path], walked: set[str], skipped: list[SkippedFile],
        links: list[Path],
    ) -> None:
        walked.add(real)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if folder != self.corpus_dir:
                skipped.append(SkippedFile(self._rel(folder) + "/", f"folder cannot be read ({exc.strerror or exc})"))
                return
            raise
        for entry in entries:
            path = folder / entry.name
            rel = self._rel(path)
            if entry.name.startswith("."):
                skipped.append(SkippedFile(rel, "hidden (the name starts with a dot)"))
            elif entry.is_symlink():
                links.append(path)
            elif entry.is_dir(follow_symlinks=False):
                self._walk(path, os.path.join(real, entry.name), found, walked, skipped, links)
            else:
                self._add_file(path, os.path.join(real, entry.name), entry.is_file(follow_symlinks=False), found, skipped)

    def _add_file(self, path: Path, real: str, regular: bool, found: dict[str, Path], skipped: list[SkippedFile]) -> None:
        rel = self._rel(path)
        if not regular:
            skipped.append(SkippedFile(rel, "not a regular file (FIFO, socket or device); only documents are read"))
        elif path.name.lower().endswith(SIDECAR_SUFFIX) and len(path.name) > len(SIDECAR_SUFFIX):
            document = path.with_name(path.name[: -len(SIDECAR_SUFFIX)])
            if not document.exists():
                skipped.append(SkippedFile(
                    rel, f"metadata corrections of {document.name}, which is not in the corpus; delete this file"
                ))
        elif path.name.lower() == "readme.md":
            skipped.append(SkippedFile(rel, "README files describe the folder and are not ingested"))
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(SkippedFile(
                rel, f"unsupported file type {path.suffix.lower() or '(none)'!r}; supported are {', '.join(SUPPORTED_SUFFIXES)}"
            ))
        elif real in found:
            skipped.append(SkippedFile(rel, f"the same file as {self._rel(found[real])}, which is ingested once"))
        else:
            found[real] = path

    def _follow(
        self, link: Path, root: Path, found: dict[str, Path], walked: set[str], skipped: list[SkippedFile],
        links: list[Path],
    ) -> None:
        rel = self._rel(link)
        try:
            target = os.path.realpath(link, strict=True)
            info = os.stat(target)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                skipped.append(SkippedFile(rel, "symlink loop (the link points back to itself); remove it"))
            elif exc.errno == errno.ENOENT:
                skipped.append(SkippedFile(rel, "broken symlink (its target does not exist); remove or fix it"))
            else:
                skipped.append(SkippedFile(rel, f"symlink cannot be followed ({exc.strerror or exc})"))
            return
        if target != str(root) and not target.startswith(str(root) + os.sep):
            skipped.append(SkippedFile(
                rel, f"symlink to {target}, outside the corpus folder; copy the file into the corpus folder to ingest it"
            ))
            return
        if stat.S_ISDIR(info.st_mode):
            if target in walked:
                skipped.append(SkippedFile(rel + "/", "symlink to a folder that is already read (or a loop); skipped"))
                return
            self._walk(link, target, found, walked, skipped, links)
        else:
            self._add_file(link, target, stat.S_ISREG(info.st_mode), found, skipped)


def discover(corpus_dir: Path) -> list[Path]:
    """All supported files below `corpus_dir`, sorted (see `CorpusScanner` for what is left out)."""
    return CorpusScanner(corpus_dir).run().files
