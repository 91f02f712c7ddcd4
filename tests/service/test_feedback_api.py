"""Feedback against a real server and a real SQLite file: answer ids, checks of echoed texts, the
admin reports and CSV, a locked database, recording off, and `tagungsbot report feedback`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.database import FILENAME
from tests.conftest import Server, base_env, start_server, tagungsbot

ADMIN = {"X-API-Key": "fb-admin-5e1d"}
UNANSWERABLE = "Was kostet das Parken bei der Tagung 2027?"
ANSWERABLE = "Wer hielt die Keynote?"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback-data") / "data"


@pytest.fixture(scope="module")
def env(built_index: Path, data_dir: Path) -> dict[str, str]:
    return base_env(
        built_index, TAGUNGSBOT_DATA_DIR=str(data_dir), TAGUNGSBOT_ADMIN_KEYS=ADMIN["X-API-Key"],
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="0",  # recording stays off (the default)
    )


@pytest.fixture(scope="module")
def srv(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(env, tmp_path_factory.mktemp("feedback-logs"))
    yield server
    server.stop()


def ask(srv: Server, question: str) -> dict:
    r = httpx.post(f"{srv.url}/api/ask", json={"question": question}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def feedback(srv: Server, **body) -> httpx.Response:
    content = json.dumps(body)  # ASCII with escapes: a lone surrogate travels as JSON's "\\ud800"
    return httpx.post(f"{srv.url}/api/feedback", content=content, headers={"Content-Type": "application/json"}, timeout=30)


def test_every_answer_has_an_answer_id(srv: Server) -> None:
    ids = set()
    for question in (ANSWERABLE, UNANSWERABLE, "Hallo!"):
        body = ask(srv, question)
        assert isinstance(body["answer_id"], str) and len(body["answer_id"]) == 22
        ids.add(body["answer_id"])
    assert len(ids) == 3
    assert ask(srv, ANSWERABLE)["answer_id"] in ids  # the same answer to the same question: the same id


def test_feedback_by_id_alone_and_with_the_texts_is_stored(srv: Server) -> None:
    body = ask(srv, ANSWERABLE)
    r = feedback(srv, answer_id=body["answer_id"], rating="up")
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["answer_id"] == body["answer_id"] and created["rating"] == "up" and created["id"] > 0
    r = feedback(srv, answer_id=body["answer_id"], rating="down", comment="Zu knapp.",
                 question=f"  {ANSWERABLE} ", answer=body["answer"])  # as typed: spaces around are harmless
    assert r.status_code == 201, r.text
    items = httpx.get(f"{srv.url}/api/admin/feedback", headers=ADMIN, timeout=10).json()["items"]
    stored = {i["id"]: i for i in items}[r.json()["id"]]
    assert stored["question"] == ANSWERABLE and stored["answer"] == body["answer"] and stored["comment"] == "Zu knapp."
    assert stored["store_version"]


def test_wrong_texts_are_422_and_an_unknown_id_is_404(srv: Server) -> None:
    body = ask(srv, ANSWERABLE)
    wrong = feedback(srv, answer_id=body["answer_id"], rating="down", question=ANSWERABLE, answer="Eine andere Antwort.")
    assert wrong.status_code == 422 and "not the ones this answer_id was given for" in wrong.json()["detail"]
    other_question = feedback(srv, answer_id=body["answer_id"], rating="down", question="Wer sonst?", answer=body["answer"])
    assert other_question.status_code == 422
    half = feedback(srv, answer_id=body["answer_id"], rating="down", question=ANSWERABLE)
    assert half.status_code == 422 and "both" in half.json()["detail"]
    unknown = feedback(srv, answer_id="AAAAAAAAAAAAAAAAAAAAAA", rating="up")
    assert unknown.status_code == 404 and "send the question and answer" in unknown.json()["detail"]
    forged = feedback(srv, answer_id="AAAAAAAAAAAAAAAAAAAAAA", rating="up", question="Q", answer="A")
    assert forged.status_code == 422


@pytest.mark.parametrize("body, field", [
    ({"rating": "meh"}, "rating"),
    ({"rating": "up", "comment": "x" * 1001}, "comment"),
    ({"rating": "up", "comment": "\ud800"}, "comment"),
])
def test_invalid_feedback_is_422_in_words(srv: Server, body: dict, field: str) -> None:
    answer_id = ask(srv, ANSWERABLE)["answer_id"]
    r = feedback(srv, answer_id=answer_id, **body)
    assert r.status_code == 422 and field in r.json()["detail"]


def test_the_csv_export_keeps_umlauts_and_commas(srv: Server) -> None:
    body = ask(srv, UNANSWERABLE)
    comment = "Fehlt völlig, bitte ergänzen: Parkgebühren für Großveranstaltungen"
    assert feedback(srv, answer_id=body["answer_id"], rating="down", comment=comment).status_code == 201
    r = httpx.get(f"{srv.url}/api/admin/feedback.csv", params={"rating": "down"}, headers=ADMIN, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert any(row["comment"] == comment and row["question"] == UNANSWERABLE for row in rows)
    assert {row["rating"] for row in rows} == {"down"}


def test_admin_reports_need_the_admin_key(srv: Server) -> None:
    for path in ("feedback", "feedback.csv", "unanswered", "unanswered.csv"):
        assert httpx.get(f"{srv.url}/api/admin/{path}", timeout=10).status_code == 401
        assert httpx.get(f"{srv.url}/api/admin/{path}", headers={"X-API-Key": "wrong"}, timeout=10).status_code == 403


def test_feedback_list_filters_and_pages(srv: Server) -> None:
    everything = httpx.get(f"{srv.url}/api/admin/feedback", headers=ADMIN, timeout=10).json()
    downs = httpx.get(f"{srv.url}/api/admin/feedback", params={"rating": "down"}, headers=ADMIN, timeout=10).json()
    assert everything["total"] >= 3 and 0 < downs["total"] < everything["total"]
    page = httpx.get(f"{srv.url}/api/admin/feedback", params={"limit": 1, "offset": 1}, headers=ADMIN, timeout=10).json()
    assert page["total"] == everything["total"] and page["items"] == everything["items"][1:2]


def test_with_recording_off_no_question_is_stored(srv: Server, data_dir: Path) -> None:
    for question in (UNANSWERABLE, "Gibt es bei der Tagung eine Kinderbetreuung? Antwort an erika.muster@example.org"):
        assert ask(srv, question)["abstained"]
    report = httpx.get(f"{srv.url}/api/admin/unanswered", headers=ADMIN, timeout=10).json()
    assert report == {"recording": False, "retention_days": 90, "total": 0, "groups": []}
    raw = sqlite3.connect(data_dir / FILENAME)
    assert raw.execute("SELECT COUNT(*) FROM unanswered").fetchone()[0] == 0
    raw.close()
    files = b"".join(p.read_bytes() for p in data_dir.iterdir())
    assert b"erika.muster" not in files


def test_a_locked_database_does_not_stop_answers_and_feedback_says_503(srv: Server, data_dir: Path) -> None:
    body = ask(srv, ANSWERABLE)
    other = sqlite3.connect(data_dir / FILENAME, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        assert ask(srv, UNANSWERABLE)["answer_id"]  # answers go on
        r = feedback(srv, answer_id=body["answer_id"], rating="up", comment="im Sperrfall")
        assert r.status_code == 503 and "not stored" in r.json()["detail"] and r.headers["Retry-After"]
        assert "/tmp" not in r.json()["detail"]  # no server paths for tool callers
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert feedback(srv, answer_id=body["answer_id"], rating="up", comment="danach").status_code == 201
    comments = [i["comment"] for i in httpx.get(f"{srv.url}/api/admin/feedback", headers=ADMIN, timeout=10).json()["items"]]
    assert "danach" in comments and "im Sperrfall" not in comments


def test_the_cli_reports_the_same_feedback(srv: Server, env: dict[str, str]) -> None:
    api = httpx.get(f"{srv.url}/api/admin/feedback", params={"limit": 1000}, headers=ADMIN, timeout=10).json()
    result = tagungsbot("report", "feedback", "--json", env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == api
    text = tagungsbot("report", "feedback", "--rating", "down", env=env, timeout=60)
    assert text.returncode == 0 and "Fehlt völlig, bitte ergänzen" in text.stdout and " up " not in text.stdout
    as_csv = tagungsbot("report", "feedback", "--csv", env=env, timeout=60)
    assert as_csv.returncode == 0 and as_csv.stdout.lstrip("\ufeff").startswith("id,created_at,rating,comment")
    missing = tagungsbot("report", "unanswered", env={**env, "TAGUNGSBOT_DATA_DIR": str(Path(env["TAGUNGSBOT_DATA_DIR"]) / "nope")})
    assert missing.returncode == 1 and "TAGUNGSBOT_DATA_DIR" in missing.stderr
