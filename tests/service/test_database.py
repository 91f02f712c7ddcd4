"""The SQLite file of the service: created private, WAL, migrated, purged, and never raising past its API."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from service.database import FILENAME, SCHEMA_VERSION, Database, DatabaseUnavailable
from service.feedback import SECRET_FILENAME, AnswerSigner


def _opened(tmp_path: Path, **kwargs) -> Database:
    db = Database(tmp_path / "data", **kwargs)
    assert db.open(), db.problem
    return db


def test_a_new_database_is_private_in_wal_mode_and_at_the_latest_schema(tmp_path: Path) -> None:
    db = _opened(tmp_path)
    db.add_feedback("id1", "up", None, "Frage?", "Antwort.", "v1")
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    for name in (FILENAME, FILENAME + "-wal"):
        assert stat.S_IMODE((tmp_path / "data" / name).stat().st_mode) == 0o600, name
    raw = sqlite3.connect(tmp_path / "data" / FILENAME)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"feedback", "unanswered", "documents"} <= tables
    db.close()


def test_reopening_keeps_the_rows_and_does_not_migrate_again(tmp_path: Path) -> None:
    db = _opened(tmp_path)
    db.add_feedback("id1", "down", "fehlt", "Frage?", "Antwort.", None)
    db.close()
    again = _opened(tmp_path)
    total, rows = again.feedback()
    assert total == 1 and rows[0].comment == "fehlt" and rows[0].rating == "down"
    again.close()


def test_a_database_of_a_newer_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    raw = sqlite3.connect(tmp_path / "data" / FILENAME)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    db = Database(tmp_path / "data")
    assert not db.open()
    assert "newer than this tagungsbot knows" in db.problem
    with pytest.raises(DatabaseUnavailable, match="newer"):
        db.add_feedback("id", "up", None, "q", "a", None)


def test_an_unusable_data_folder_leaves_the_service_running_without_recording(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    db = Database(blocker / "data")  # below a regular file: cannot be created, even by root
    assert db.open() is False
    assert "TAGUNGSBOT_DATA_DIR" in db.problem
    with pytest.raises(DatabaseUnavailable, match="TAGUNGSBOT_DATA_DIR"):
        db.add_feedback("id", "up", None, "q", "a", None)
    signer = AnswerSigner.from_data_dir(blocker / "data")  # a secret of this process only
    assert signer.matches(signer.run("q", "a"), "q", "a")


def test_a_write_against_a_locked_file_fails_fast_and_stores_nothing(tmp_path: Path) -> None:
    db = _opened(tmp_path, busy_timeout_s=0.3)
    other = sqlite3.connect(tmp_path / "data" / FILENAME, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(DatabaseUnavailable, match="locked"):
        db.add_feedback("id", "up", None, "q", "a", None)
    assert db.feedback()[0] == 0  # WAL: reading still works while another holds the write lock
    other.execute("ROLLBACK")
    db.add_feedback("id", "up", None, "q", "a", None)
    assert db.count("feedback") == 1


def test_retention_purges_old_rows_only(tmp_path: Path) -> None:
    db = _opened(tmp_path, feedback_retention_days=30, unanswered_retention_days=7)
    db.add_feedback("new", "up", None, "q", "a", None)
    db.add_unanswered("neu?", np.ones(4, dtype=np.float32), "de", None)
    old = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat(timespec="milliseconds")
    middle = (datetime.now(timezone.utc) - timedelta(days=10)).isoformat(timespec="milliseconds")
    raw = sqlite3.connect(tmp_path / "data" / FILENAME)
    with raw:
        raw.execute("INSERT INTO feedback (created_at, answer_id, rating, question, answer) VALUES (?, 'old', 'down', 'q', 'a')", (old,))
        raw.execute("INSERT INTO feedback (created_at, answer_id, rating, question, answer) VALUES (?, 'mid', 'down', 'q', 'a')", (middle,))
        raw.execute("INSERT INTO unanswered (created_at, question, embedding) VALUES (?, 'alt?', x'00000000')", (middle,))
    raw.close()
    assert db.purge() == {"feedback": 1, "unanswered": 1}
    assert {r.answer_id for r in db.feedback()[1]} == {"new", "mid"}
    assert [r.question for r in db.unanswered()] == ["neu?"]


def test_embeddings_come_back_as_stored(tmp_path: Path) -> None:
    db = _opened(tmp_path)
    vector = np.random.default_rng(1).random(384, dtype=np.float32)
    db.add_unanswered("Frage [E-Mail]?", vector, "de", "v1")
    (row,) = db.unanswered()
    assert row.embedding.dtype == np.float32 and np.array_equal(row.embedding, vector)
    assert (row.question, row.language, row.store_version) == ("Frage [E-Mail]?", "de", "v1")


def test_document_records_for_the_documents_api(tmp_path: Path) -> None:
    db = _opened(tmp_path)
    db.record_document("events/a.pdf", "sha256:1", 10, "A.pdf")
    db.record_document("b.md", "sha256:2", 20)
    db.record_document("events/a.pdf", "sha256:3", 30, "A2.pdf")  # replaced, not duplicated
    assert [(d.id, d.content_hash, d.size_bytes) for d in db.documents()] == [("b.md", "sha256:2", 20), ("events/a.pdf", "sha256:3", 30)]
    assert db.forget_document("b.md") and not db.forget_document("b.md")
    assert [d.id for d in db.documents()] == ["events/a.pdf"]


def test_threads_write_concurrently_without_losing_rows(tmp_path: Path) -> None:
    db = _opened(tmp_path)

    def write(n: int) -> None:
        for i in range(25):
            db.add_feedback(f"{n}-{i}", "up", None, "q", "a", None)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.count("feedback") == 200
    assert db.feedback(limit=10, offset=195)[1].__len__() == 5


def test_the_signing_secret_is_made_once_and_private(tmp_path: Path) -> None:
    first = AnswerSigner.from_data_dir(tmp_path / "data")
    second = AnswerSigner.from_data_dir(tmp_path / "data")  # another worker: the same secret
    assert stat.S_IMODE((tmp_path / "data" / SECRET_FILENAME).stat().st_mode) == 0o600
    answer_id = first.run("Wann  ist die Tagung? ", "Am 3. Mai.")
    assert len(answer_id) == 22 and second.matches(answer_id, "Wann ist die Tagung?", "Am 3. Mai.")
    assert not second.matches(answer_id, "Wann ist die Tagung?", "Am 4. Mai.")
    assert [p.name for p in (tmp_path / "data").iterdir()] == [SECRET_FILENAME]  # no temp file left
