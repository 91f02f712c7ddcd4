"""`tagungsbot report unanswered|feedback`: what the editors' page shows, on the command line (issue 13).

Reads the service's SQLite file (TAGUNGSBOT_DATA_DIR) directly; no running server and no model
are needed (unanswered questions are grouped by the embeddings stored with them). `--json` prints
what the admin API returns, `--csv` what its CSV export holds (UTF-8 with BOM, for spreadsheets).
"""

from __future__ import annotations

import argparse
import json
import sys

from service.database import FILENAME, Database, DatabaseUnavailable
from service.reports import UnansweredReport, feedback_csv, feedback_item, unanswered_csv
from vectorstore.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="feedback and unanswered questions recorded by the service")
    reports = p.add_subparsers(dest="report_command", required=True)
    un = reports.add_parser("unanswered", help="questions the documents did not answer, grouped by similarity")
    _formats(un)
    un.set_defaults(func=cmd_report_unanswered)
    fb = reports.add_parser("feedback", help="ratings of answers, newest first")
    fb.add_argument("--rating", choices=("up", "down"), help="only thumbs up or only thumbs down")
    _formats(fb)
    fb.set_defaults(func=cmd_report_feedback)


def _formats(p: argparse.ArgumentParser) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON (as GET /api/admin/... returns it)")
    out.add_argument("--csv", action="store_true", help="print CSV (UTF-8 with BOM, as the page's export)")


def _database(settings: Settings) -> Database:
    """The service's database file, opened; a missing or unusable file is an error with the fix."""
    path = settings.data_dir / FILENAME
    if not path.exists():
        raise DatabaseUnavailable(
            f"there is no database at {path.absolute()}: the service has recorded nothing there yet; if it runs "
            "with another data folder, set TAGUNGSBOT_DATA_DIR to it"
        )
    db = Database(settings.data_dir, settings.feedback_retention_days, settings.unanswered_retention_days)
    if not db.open():
        raise DatabaseUnavailable(db.problem or f"the database {path} cannot be opened")
    return db


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()


def cmd_report_unanswered(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        report = UnansweredReport(db, settings.record_unanswered, settings.unanswered_retention_days).run()
    finally:
        db.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif args.csv:
        _write(unanswered_csv(report["groups"]))
    else:
        state = "on" if report["recording"] else "off"
        print(f"{report['total']} unanswered questions in {len(report['groups'])} groups "
              f"(recording {state} in this environment, kept {report['retention_days']} days)")
        for group in report["groups"]:
            print(f"\n{group['count']:>4} × {group['label']}\n       first {group['first_seen'][:16].replace('T', ' ')}, "
                  f"last {group['last_seen'][:16].replace('T', ' ')}")
            for question in group["questions"] if group["count"] > 1 else ():
                print(f"       - {question}")
    return 0


def cmd_report_feedback(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        total, rows = db.feedback(args.rating)
    finally:
        db.close()
    if args.json:
        print(json.dumps({"total": total, "items": [feedback_item(r) for r in rows]}, ensure_ascii=False, indent=2))
    elif args.csv:
        _write(feedback_csv(rows))
    else:
        up = sum(r.rating == "up" for r in rows)
        print(f"{total} ratings ({up} up, {total - up} down)" + (f", only {args.rating}" if args.rating else ""))
        for r in rows:
            print(f"\n#{r.id} {r.created_at[:16].replace('T', ' ')} {r.rating}" + (f"  \"{r.comment}\"" if r.comment else ""))
            print(f"    Frage:   {r.question}")
            answer = " ".join(r.answer.split())
            print(f"    Antwort: {answer[:200]}{'…' if len(answer) > 200 else ''}")
    return 0
