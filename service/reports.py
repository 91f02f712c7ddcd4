"""What the editors read: feedback rows and groups of unanswered questions, as JSON-ready dicts and CSV.

The admin API (service/routers/reports.py) and `tagungsbot report` (service/commands/reports.py)
both build their output here, from the same SQLite file, so the page and the command line agree.
CSV is UTF-8 with a byte order mark (Excel then reads umlauts right), one header row, and a cell
that starts like a formula (=, +, -, @) gets a leading apostrophe so a spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Iterable, Sequence

from service.database import Database, FeedbackRow
from service.unanswered import QuestionGroup, QuestionGroups

FEEDBACK_COLUMNS = ("id", "created_at", "rating", "comment", "question", "answer", "answer_id", "store_version")
UNANSWERED_COLUMNS = ("count", "label", "first_seen", "last_seen", "questions")


def feedback_item(row: FeedbackRow) -> dict:
    return {name: getattr(row, name) for name in FEEDBACK_COLUMNS}


class UnansweredReport:
    """Groups of the stored unanswered questions, with whether recording is on and the retention."""

    def __init__(self, database: Database, recording: bool, retention_days: int, groups: QuestionGroups | None = None) -> None:
        self.database = database
        self.recording = recording
        self.retention_days = retention_days
        self.groups = groups or QuestionGroups()

    def run(self) -> dict:
        """{"recording", "retention_days", "total", "groups": [{label, count, questions, first_seen, last_seen}]}.
        Raises DatabaseUnavailable."""
        rows = self.database.unanswered()
        return {
            "recording": self.recording,
            "retention_days": self.retention_days,
            "total": len(rows),
            "groups": [asdict(g) for g in self.groups.run(rows)],
        }


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document, BOM first, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def feedback_csv(rows: Iterable[FeedbackRow]) -> str:
    return csv_text(FEEDBACK_COLUMNS, ([getattr(r, c) for c in FEEDBACK_COLUMNS] for r in rows))


def unanswered_csv(groups: Iterable[QuestionGroup | dict]) -> str:
    """One row per group; its questions in one cell, one per line."""
    def values(group: QuestionGroup | dict) -> list[object]:
        g = group if isinstance(group, dict) else asdict(group)
        return [g["count"], g["label"], g["first_seen"], g["last_seen"], "\n".join(g["questions"])]

    return csv_text(UNANSWERED_COLUMNS, (values(g) for g in groups))
