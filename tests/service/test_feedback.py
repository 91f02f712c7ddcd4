"""The feedback components on a real SQLite file: the answer memory's bounds, and what is stored."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.database import Database
from service.feedback import (
    AnsweredQuestion, AnswerSigner, FeedbackIn, FeedbackRecorder, RecentAnswers, TextsDoNotMatch, UnknownAnswer,
)
from service.redaction import Redactor


def test_recent_answers_are_bounded_and_expire() -> None:
    recent = RecentAnswers(max_entries=3, ttl_s=0.2)
    for i in range(5):
        recent.put(f"id{i}", AnsweredQuestion(f"q{i}", f"a{i}", None))
    assert len(recent) == 3 and recent.get("id0") is None and recent.get("id4").answer == "a4"
    time.sleep(0.25)
    assert recent.get("id4") is None


@pytest.fixture()
def recorder(tmp_path: Path) -> FeedbackRecorder:
    db = Database(tmp_path / "data")
    assert db.open()
    return FeedbackRecorder(db, AnswerSigner.from_data_dir(tmp_path / "data"), RecentAnswers(), Redactor())


def test_feedback_by_id_uses_the_remembered_answer_and_redacts_question_and_comment(recorder: FeedbackRecorder) -> None:
    answer_id = recorder.remember("Frage von a.b@example.org?", "Die Antwort [1].", "v7")
    row = recorder.run(FeedbackIn(answer_id, "down", comment="  Rückruf unter 030 1234567  "))
    assert (row.question, row.answer, row.comment, row.store_version) == (
        "Frage von [E-Mail]?", "Die Antwort [1].", "Rückruf unter [Telefon]", "v7",
    )
    assert recorder.database.feedback()[1][0] == row


def test_texts_from_another_worker_are_checked_by_the_signature(recorder: FeedbackRecorder, tmp_path: Path) -> None:
    other = FeedbackRecorder(recorder.database, AnswerSigner.from_data_dir(tmp_path / "data"), RecentAnswers(), Redactor())
    answer_id = other.remember("Wann?", "Im Mai.", "v1")  # remembered by the other worker only
    with pytest.raises(UnknownAnswer):
        recorder.run(FeedbackIn(answer_id, "up"))
    with pytest.raises(TextsDoNotMatch):
        recorder.run(FeedbackIn(answer_id, "up", question="Wann?", answer="Im Juni."))
    row = recorder.run(FeedbackIn(answer_id, "up", comment="   ", question="Wann?", answer="Im Mai."), store_version="v2")
    assert (row.question, row.comment, row.store_version) == ("Wann?", None, "v2")
