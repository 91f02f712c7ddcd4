"""The multipart form of a document upload, read as it streams in.

FastAPI's own form parsing spools every file whole before the route sees it, however
large. `UploadForm` parses the stream itself (python-multipart's parser): each file goes
to a temporary file outside the corpus while its SHA-256 is computed, and a file that
passes the per-file limit stops the reading at that point (413), before the rest is
stored. The filename is taken exactly as sent (no stripping of Windows paths), so that
`UploadCheck` can refuse a name with a path in it instead of silently renaming it.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.uploads import UploadCandidate, UploadRefused

FIELD = "files"
DRAIN_S = 5.0  # after a refusal, the rest of the body is read (and dropped) this long at most, so the
# client, still sending, gets the answer instead of a reset connection


class FormError(ValueError):
    """The request is not a multipart form with files; the message says how to send one."""


_QUOTED_PAIR = re.compile(r"\\(.)")
_FILENAME = re.compile(r"""(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))""", re.I)
_FILENAME_EXT = re.compile(r"""(?:^|;)\s*filename\*\s*=\s*([\w!#$&+.^`|~-]+)'[^']*'([^;]*)""", re.I)


def filename_of(disposition: str) -> str | None:
    """The filename of a Content-Disposition header, exactly as sent (RFC 6266/5987, HTML's %22 escape)."""
    from urllib.parse import unquote

    ext = _FILENAME_EXT.search(disposition)
    if ext:
        try:
            return unquote(ext.group(2).strip(), encoding=ext.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    match = _FILENAME.search(disposition)
    if not match:
        return None
    if match.group(1) is not None:
        value = _QUOTED_PAIR.sub(r"\1", match.group(1))
        return value.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
    return match.group(2).strip()


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    sink: IO[bytes] | None = None
    path: Path | None = None
    size: int = 0
    digest: Any = None


class UploadForm:
    """Reads the files of field `files` of one upload into `folder`; `run` returns them staged."""

    def __init__(self, folder: Path, max_file_bytes: int, max_files: int) -> None:
        self.folder = Path(folder)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files

    async def run(self, request: Request) -> list[UploadCandidate]:
        """The staged files; raises `UploadRefused` (too many, too large) or `FormError`."""
        content_type, params = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or b"boundary" not in params:
            raise FormError(
                "the upload must be a multipart/form-data form with the documents in the field 'files' "
                "(curl: -F files=@bericht.pdf)"
            )
        staged: list[UploadCandidate] = []
        part = _Part()
        header_name = bytearray()
        header_value = bytearray()
        refusal: list[UploadRefused] = []

        def on_part_begin() -> None:
            nonlocal part
            part = _Part()

        def on_header_field(data: bytes, start: int, end: int) -> None:
            header_name.extend(data[start:end])

        def on_header_value(data: bytes, start: int, end: int) -> None:
            header_value.extend(data[start:end])

        def on_header_end() -> None:
            part.headers[bytes(header_name).lower()] = bytes(header_value)
            header_name.clear()
            header_value.clear()

        def on_headers_finished() -> None:
            header = part.headers.get(b"content-disposition", b"")
            raw = header.decode("utf-8", "replace")
            _, options = parse_options_header(header)  # bytes: parsed as latin-1, whatever they hold
            part.name = options.get(b"name", b"").decode("utf-8", "replace")
            part.filename = filename_of(raw)
            if part.name != FIELD or part.filename is None:
                return  # other fields are ignored
            if len(staged) + 1 > self.max_files:
                refusal.append(UploadRefused(
                    "count", f"more than {self.max_files} files in one upload; at most {self.max_files} are taken at once "
                    f"(TAGUNGSBOT_MAX_UPLOAD_FILES): upload them in parts",
                ))
                raise _Stop
            suffix = Path(part.filename.replace("\\", "/")).suffix.lower()
            suffix = suffix if suffix in SUPPORTED_SUFFIXES else ".bin"  # the loader dispatches on it
            part.path = self.folder / f"upload-{len(staged)}{suffix}"
            part.sink = open(part.path, "wb")
            part.digest = hashlib.sha256()

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if part.sink is None:
                return
            chunk = data[start:end]
            part.size += len(chunk)
            if part.size > self.max_file_bytes:
                refusal.append(UploadRefused(
                    "size", f"{part.filename}: over the limit of {self.max_file_bytes:,} bytes per file (refused after "
                    f"{self.max_file_bytes:,} bytes, before the rest was read); split the document or compress its "
                    f"images (TAGUNGSBOT_MAX_FILE_BYTES)",
                ))
                raise _Stop
            part.sink.write(chunk)
            part.digest.update(chunk)

        def on_part_end() -> None:
            if part.sink is None:
                return
            part.sink.close()
            assert part.path is not None and part.filename is not None
            staged.append(UploadCandidate(part.filename, part.path, part.size, part.digest.hexdigest()))
            part.sink = None

        parser = MultipartParser(params[b"boundary"], {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
            "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data, "on_part_end": on_part_end,
        })
        stream = request.stream()
        try:
            async for chunk in stream:
                parser.write(chunk)
            parser.finalize()
        except _Stop:
            await _drain(stream)
            raise refusal[0] from None
        except (FormParserError, ValueError) as exc:  # ValueError: also UnicodeError of a header
            raise FormError(f"the multipart form cannot be read ({exc}); send the documents as multipart/form-data "
                            f"in the field 'files'") from exc
        finally:
            if part.sink is not None:
                part.sink.close()
        return staged


class _Stop(Exception):
    """Stops the parser at a refusal."""


async def _drain(stream: Any) -> None:
    """Read and drop the rest of the body for a few seconds at most (see `DRAIN_S`)."""
    deadline = time.monotonic() + DRAIN_S
    try:
        async for _ in stream:
            if time.monotonic() > deadline:
                return
    except Exception:  # noqa: BLE001 - the client went away, or the body passed its limit: nothing to drain
        return
