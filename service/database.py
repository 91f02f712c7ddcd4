"""The service's one embedded database: feedback, unanswered questions and document records.

One SQLite file (standard library `sqlite3`) at `data_dir/tagungsbot.sqlite3`; the folder is made
0700 and the file 0600 (SQLite gives its -wal/-shm files the file's mode). WAL mode lets the CLI
and several worker processes read while one writes; `synchronous=FULL` makes a write durable
when its commit returns, so anything acknowledged (feedback answered 201) survives a kill -9.
The schema is versioned with `PRAGMA user_version` and the ordered `MIGRATIONS` are applied at
start. One code path, SQLite only: no Postgres option (the issue allows one only as a single
code path, and one file in the data folder is what a small editorial team can back up).

The service must keep answering when the database cannot be written (locked past the short busy
timeout, disk full, folder read-only): every write raises `DatabaseUnavailable` with a reason a
person can act on, the caller logs it and goes on (feedback then answers 503: nothing may be
acknowledged that is not stored). A database that could not be opened at start is retried at
most every `REOPEN_AFTER_S` seconds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from vectorstore.errors import TagungsbotError
from vectorstore.settings import Settings

log = logging.getLogger("tagungsbot.database")

FILENAME = "tagungsbot.sqlite3"
REOPEN_AFTER_S = 30.0
PURGE_EVERY_S = 3600.0

T = TypeVar("T")

# Ordered migrations: MIGRATIONS[n] takes the schema from version n to n + 1. Never edit a
# released one; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            answer_id TEXT NOT NULL,
            rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
            comment TEXT,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            store_version TEXT
        )""",
        "CREATE INDEX feedback_created ON feedback (created_at)",
        """CREATE TABLE unanswered (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            question TEXT NOT NULL,
            embedding BLOB NOT NULL,
            language TEXT,
            store_version TEXT
        )""",
        "CREATE INDEX unanswered_created ON unanswered (created_at)",
        """CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            added_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            original_filename TEXT
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseUnavailable(TagungsbotError):
    """The database cannot take a write (or a read) now; the message says why and what to do."""


def utc_now() -> str:
    """A timestamp as stored: ISO 8601 UTC with milliseconds (so text order is time order)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    created_at: str
    answer_id: str
    rating: str
    comment: str | None
    question: str
    answer: str
    store_version: str | None


@dataclass(frozen=True)
class UnansweredRow:
    id: int
    created_at: str
    question: str
    embedding: np.ndarray
    language: str | None
    store_version: str | None


@dataclass(frozen=True)
class DocumentRow:
    id: str
    added_at: str
    content_hash: str
    size_bytes: int
    original_filename: str | None


def _explain(exc: sqlite3.Error, path: Path) -> str:
    """What went wrong with the database file, and the fix, in one sentence."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        fix = "another process holds a write lock on it; try again in a moment, or end that process"
    elif "full" in low:
        fix = "the disk is full; free space in the data folder"
    elif "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
        fix = "the service cannot write there; make the folder writable for the service user or set TAGUNGSBOT_DATA_DIR"
    elif "malformed" in low or "not a database" in low:
        fix = "the file is damaged; move it aside (the service creates a new one) and restore a backup if you have one"
    else:
        fix = "see the server log"
    return f"the database {path} cannot be used ({text}): {fix}"


class Database:
    """The SQLite file of the service; thread-safe (one connection, one lock).

    `open()` never raises: a database that cannot be opened leaves the service running without
    recording (`problem` says why). Every other method raises `DatabaseUnavailable`.
    """

    def __init__(
        self, data_dir: Path, feedback_retention_days: int = Settings.feedback_retention_days,
        unanswered_retention_days: int = Settings.unanswered_retention_days,
        busy_timeout_s: float = 2.0,
    ) -> None:
        """Retention in days; 0 or less keeps rows forever."""
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / FILENAME
        self.feedback_retention_days = feedback_retention_days
        self.unanswered_retention_days = unanswered_retention_days
        self.busy_timeout_s = busy_timeout_s
        self.problem: str | None = "the database has not been opened yet"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._last_attempt = float("-inf")
        self._last_purge = float("-inf")
        self._closed = False

    # --- opening, migrations, closing -------------------------------------------------------

    def open(self) -> bool:
        """Create the folder and file if needed, migrate, purge old rows; False (logged) on failure."""
        with self._lock:
            self._closed = False
            if self._conn is not None:
                return True
            self._last_attempt = time.monotonic()
            try:
                self._conn = self._connect_retrying()
                self.problem = None
            except (OSError, sqlite3.Error, DatabaseUnavailable) as exc:
                if isinstance(exc, sqlite3.Error):
                    reason = _explain(exc, self.path)
                elif isinstance(exc, OSError):
                    reason = (f"the data folder {self.data_dir} cannot be used ({exc.strerror or exc}): make it "
                              "writable for the service user or set TAGUNGSBOT_DATA_DIR")
                else:
                    reason = str(exc)
                self.problem = reason
                log.warning("running without recording feedback and unanswered questions: %s", reason)
                return False
        self.purge_if_due()
        return True

    def _connect_retrying(self, attempts: int = 3) -> sqlite3.Connection:
        """`_connect`, again after a moment when another worker process holds the file (it is migrating it)."""
        for attempt in range(attempts):
            try:
                return self._connect()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == attempts - 1:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _connect(self) -> sqlite3.Connection:
        if not self.data_dir.exists():
            self.data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)  # another worker may be first
            os.chmod(self.data_dir, 0o700)  # the umask may not take bits away from a stricter mode: be explicit
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("the database %s is not in WAL mode (%s); readers may wait for writers", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        log.info("database %s open (schema version %d)", self.path, SCHEMA_VERSION)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply the migrations this file lacks, each in its own transaction (another worker may race us)."""
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise DatabaseUnavailable(
                        f"the database {self.path} has schema version {version}, newer than this tagungsbot "
                        f"knows ({SCHEMA_VERSION}): run the newer tagungsbot, or point TAGUNGSBOT_DATA_DIR elsewhere"
                    )
                if version == SCHEMA_VERSION:
                    conn.execute("COMMIT")
                    return
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
                log.info("database %s migrated to schema version %d", self.path, version + 1)
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    @property
    def available(self) -> bool:
        return self._conn is not None

    def _run(self, work: Callable[[sqlite3.Connection], T], write: bool) -> T:
        """Run `work` under the lock, in a transaction when it writes; sqlite errors become `DatabaseUnavailable`."""
        # Bounded wait for the lock too: under a burst against a locked file, requests must not queue
        # here one busy timeout after another.
        if not self._lock.acquire(timeout=self.busy_timeout_s):
            raise DatabaseUnavailable(
                f"the database {self.path} is busy (other requests of this process are waiting for it); try again in a moment"
            )
        try:
            if self._conn is None and not self._closed and time.monotonic() - self._last_attempt >= REOPEN_AFTER_S:
                self.open()
            conn = self._conn
            if conn is None:
                raise DatabaseUnavailable(self.problem or f"the database {self.path} is closed")
            try:
                if not write:
                    return work(conn)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")  # synchronous=FULL: on disk when this returns
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result
            except sqlite3.Error as exc:
                raise DatabaseUnavailable(_explain(exc, self.path)) from exc
        finally:
            self._lock.release()

    # --- retention ---------------------------------------------------------------------------

    def purge(self) -> dict[str, int]:
        """Delete feedback and unanswered questions older than their retention; rows removed per table."""
        now = datetime.now(timezone.utc)
        limits = {"feedback": self.feedback_retention_days, "unanswered": self.unanswered_retention_days}

        def work(conn: sqlite3.Connection) -> dict[str, int]:
            removed = {}
            for table, days in limits.items():
                if days > 0:
                    cutoff = (now - timedelta(days=days)).isoformat(timespec="milliseconds")
                    removed[table] = conn.execute(f"DELETE FROM {table} WHERE created_at < ?", (cutoff,)).rowcount
                else:
                    removed[table] = 0
            return removed

        removed = self._run(work, write=True)
        self._last_purge = time.monotonic()
        if any(removed.values()):
            log.info("retention: removed %d feedback and %d unanswered rows", removed["feedback"], removed["unanswered"])
        return removed

    def purge_if_due(self) -> None:
        """Purge at most once per `PURGE_EVERY_S`; a failure is logged, not raised."""
        if time.monotonic() - self._last_purge < PURGE_EVERY_S:
            return
        try:
            self.purge()
        except DatabaseUnavailable as exc:
            self._last_purge = time.monotonic()  # not again at every write while the file is busy
            log.warning("retention purge skipped: %s", exc)

    # --- feedback ----------------------------------------------------------------------------

    def add_feedback(
        self, answer_id: str, rating: str, comment: str | None, question: str, answer: str, store_version: str | None,
    ) -> FeedbackRow:
        """Store one rating; committed to disk when this returns."""
        created = utc_now()

        def work(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, answer_id, rating, comment, question, answer, store_version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created, answer_id, rating, comment, question, answer, store_version),
            )
            return int(cur.lastrowid)

        row_id = self._run(work, write=True)
        self.purge_if_due()
        return FeedbackRow(row_id, created, answer_id, rating, comment, question, answer, store_version)

    def feedback(self, rating: str | None = None, limit: int | None = None, offset: int = 0) -> tuple[int, list[FeedbackRow]]:
        """(total matching, rows newest first); `limit` None = all."""
        self.purge_if_due()  # a report never shows rows past their retention, even after a quiet week
        where, params = ("WHERE rating = ?", [rating]) if rating else ("", [])

        def work(conn: sqlite3.Connection) -> tuple[int, list[FeedbackRow]]:
            total = conn.execute(f"SELECT COUNT(*) FROM feedback {where}", params).fetchone()[0]
            rows = conn.execute(
                "SELECT id, created_at, answer_id, rating, comment, question, answer, store_version "
                f"FROM feedback {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                [*params, -1 if limit is None else limit, offset],
            ).fetchall()
            return int(total), [FeedbackRow(*row) for row in rows]

        return self._run(work, write=False)

    # --- unanswered questions ----------------------------------------------------------------

    def add_unanswered(self, question: str, embedding: np.ndarray, language: str | None, store_version: str | None) -> int:
        """Store one (already redacted) question with its float32 embedding."""
        blob = np.ascontiguousarray(embedding, dtype=np.float32).tobytes()
        created = utc_now()

        def work(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO unanswered (created_at, question, embedding, language, store_version) VALUES (?, ?, ?, ?, ?)",
                (created, question, blob, language, store_version),
            )
            return int(cur.lastrowid)

        row_id = self._run(work, write=True)
        self.purge_if_due()
        return row_id

    def unanswered(self) -> list[UnansweredRow]:
        """Every stored unanswered question, oldest first, with its embedding."""
        self.purge_if_due()

        def work(conn: sqlite3.Connection) -> list[UnansweredRow]:
            rows = conn.execute(
                "SELECT id, created_at, question, embedding, language, store_version FROM unanswered ORDER BY created_at, id"
            ).fetchall()
            return [UnansweredRow(r[0], r[1], r[2], np.frombuffer(r[3], dtype=np.float32), r[4], r[5]) for r in rows]

        return self._run(work, write=False)

    def count(self, table: str) -> int:
        """Rows in `table` (feedback, unanswered or documents)."""
        if table not in ("feedback", "unanswered", "documents"):
            raise ValueError(f"unknown table {table!r}; use feedback, unanswered or documents")
        return self._run(lambda conn: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]), write=False)

    # --- documents (written by the documents admin API) --------------------------------------

    def record_document(
        self, doc_id: str, content_hash: str, size_bytes: int, original_filename: str | None = None,
        added_at: str | None = None,
    ) -> DocumentRow:
        """Insert or replace the record of one corpus document (`doc_id`: its path below the corpus folder)."""
        row = DocumentRow(doc_id, added_at or utc_now(), content_hash, int(size_bytes), original_filename)
        self._run(
            lambda conn: conn.execute(
                "INSERT INTO documents (id, added_at, content_hash, size_bytes, original_filename) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET added_at = excluded.added_at, content_hash = excluded.content_hash, "
                "size_bytes = excluded.size_bytes, original_filename = excluded.original_filename",
                (row.id, row.added_at, row.content_hash, row.size_bytes, row.original_filename),
            ),
            write=True,
        )
        return row

    def documents(self) -> list[DocumentRow]:
        """Every document record, by id."""
        return self._run(
            lambda conn: [
                DocumentRow(*r) for r in conn.execute(
                    "SELECT id, added_at, content_hash, size_bytes, original_filename FROM documents ORDER BY id"
                ).fetchall()
            ],
            write=False,
        )

    def forget_document(self, doc_id: str) -> bool:
        """Remove the record of `doc_id`; True if there was one."""
        return self._run(
            lambda conn: conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount > 0, write=True,
        )
