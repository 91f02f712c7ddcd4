"""On-disk layout of the index directory and its atomic version switch.

    INDEX_DIR/
      CURRENT                 name of the version being served (replaced atomically)
      versions/<version>/     one complete, immutable store (manifest.json last)
      versions/.tmp-<id>/     a store being written; never served, removed on the next run

A new store is written into a temporary folder, flushed to disk, renamed into
`versions/`, and only then is CURRENT replaced. A crash or kill at any point leaves
CURRENT pointing at the previous, complete version.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from vectorstore.errors import StoreCorruptError, StoreMissingError, TagungsbotError

CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
TMP_PREFIX = ".tmp-"
KEEP_VERSIONS = 3


class StoreWriteError(TagungsbotError):
    """A new store version could not be written (disk full, file size limit, permissions)."""


def write_failure(exc: BaseException, index_dir: Path) -> StoreWriteError:
    """Turn an OS or FAISS write error into a message that says what to do."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    served = current_version(index_dir)
    still = f"the previous store {served} is unchanged and still served" if served else "no store was written"
    short_write = code is None and "written" in text  # numpy reports "N requested and M written"
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text or (short_write and _free_bytes(index_dir) < 1 << 20):
        what = f"the disk is full (no space left on device) under {index_dir.resolve()}: free disk space"
    elif code == errno.EFBIG or "File too large" in text or short_write:
        what = (
            f"a file of the new store could not be written completely under {index_dir.resolve()} ({text}): "
            f"a file size limit (`ulimit -f`) is in force or the disk is full; lift the limit or free disk space"
        )
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = f"no permission to write in {index_dir.resolve()}: make it writable or set TAGUNGSBOT_INDEX_DIR"
    else:
        what = f"writing the new store version under {index_dir.resolve()} failed ({type(exc).__name__}: {text})"
    return StoreWriteError(f"{what}, then run `tagungsbot ingest` again; {still}")


def _free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 1 << 62


LOCK_FILE = ".ingest.lock"


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's ingest lock: one writer at a time (CLI or admin re-index).

    Without it, one ingest's clean-up could delete the other's half-written version. The
    lock is an `flock`, so it is released when the process ends, even by a crash or kill.
    """
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / LOCK_FILE, "a+b")
    except OSError as exc:
        raise write_failure(exc, index_dir) from exc
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestBusyError(
                f"another ingest is writing to {index_dir.resolve()} right now (CLI or the service's re-index); "
                f"wait until it has finished, then run this again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class IngestBusyError(TagungsbotError):
    """Another ingest holds the index folder's lock."""


def new_version_name() -> str:
    """Sortable, unique name for a store version."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so a rename inside it survives a power cut."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush every file below `path`, then the folders themselves."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(Path(root))


def start_version(index_dir: Path) -> Path:
    """Create and return an empty temporary folder for a new version."""
    versions = index_dir / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    return tmp


def commit_version(index_dir: Path, tmp_dir: Path, version: str) -> Path:
    """Publish a fully written temporary folder as `version` and point CURRENT at it."""
    fsync_tree(tmp_dir)
    final = index_dir / VERSIONS_DIR / version
    os.replace(tmp_dir, final)
    fsync_dir(final.parent)
    pointer_tmp = index_dir / f"{CURRENT_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        with open(pointer_tmp, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer_tmp, index_dir / CURRENT_FILE)
    except BaseException:
        pointer_tmp.unlink(missing_ok=True)  # disk full: no stray pointer file stays behind
        raise
    fsync_dir(index_dir)
    return final


def current_version(index_dir: Path) -> str | None:
    """Name of the served version, or None when no store was ever committed."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreCorruptError(f"cannot read {index_dir / CURRENT_FILE} ({exc}); re-run `tagungsbot ingest`") from exc
    return name or None


def current_dir(index_dir: Path) -> Path:
    """Folder of the served version; raises a clear error when there is none."""
    name = current_version(index_dir)
    if name is None:
        raise StoreMissingError(
            f"no vector store at {index_dir.resolve()}: run `tagungsbot ingest` first "
            f"(or set TAGUNGSBOT_INDEX_DIR to the folder where you built one)"
        )
    path = index_dir / VERSIONS_DIR / name
    if not path.is_dir():
        raise StoreCorruptError(
            f"{index_dir / CURRENT_FILE} names version {name!r}, but {path} does not exist; "
            f"re-run `tagungsbot ingest`"
        )
    return path


def clean_up(index_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Remove leftovers of interrupted runs and all but the newest `keep` versions."""
    versions = index_dir / VERSIONS_DIR
    if not versions.is_dir():
        return
    served = current_version(index_dir)
    for path in versions.iterdir():
        if path.name.startswith(TMP_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
    done = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for path in done[:-keep] if keep > 0 else done:
        if path.name != served:
            shutil.rmtree(path, ignore_errors=True)
    for stray in index_dir.glob(f"{CURRENT_FILE}.*.tmp"):
        stray.unlink(missing_ok=True)
