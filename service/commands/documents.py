"""`tagungsbot documents list|add|remove`: the corpus from the command line (issue 13).

`add` checks files exactly like the upload API (`ingest.uploads.UploadCheck`: type by
content, size, text layer, name, duplicates), copies them into the corpus folder and runs
the local ingest; `remove` deletes a document (and its metadata corrections) and runs the
ingest. A running server picks the new store up with its store watcher.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from vectorstore.settings import Settings

EXIT_OK = 0
EXIT_ERROR = 1


def _records(settings: Settings, create: bool) -> Any | None:
    """The service's database when it exists (or `create`), else None: listing never creates one."""
    from service.database import FILENAME, Database

    if not create and not (settings.data_dir / FILENAME).exists():
        return None
    database = Database(settings.data_dir, settings.feedback_retention_days, settings.unanswered_retention_days)
    return database if database.open() else None


def _store(settings: Settings) -> Any | None:
    from vectorstore.errors import TagungsbotError
    from vectorstore.store import open_store

    try:
        return open_store(settings)
    except TagungsbotError:
        return None


def _ingest(settings: Settings, as_json: bool) -> int:
    from dataclasses import asdict

    from ingest.pipeline import Ingestor

    report = Ingestor(settings).run()
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2) if as_json else report.summary())
    return EXIT_OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.documents import DocumentCatalog

    records = _records(settings, create=False)
    try:
        listing = DocumentCatalog(settings.corpus_dir).run(_store(settings), records)
    finally:
        if records is not None:
            records.close()
    if args.json:
        print(json.dumps({
            "store_version": listing.store_version, "store_created_at": listing.store_created_at,
            "documents": [d.to_json() for d in listing.documents],
        }, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"store {listing.store_version or '(none)'} built {listing.store_created_at or '-'}; "
          f"{len(listing.documents)} document(s) in {settings.corpus_dir}")
    for d in listing.documents:
        state = "indexed" if d.indexed else ("removed, until the next ingest" if not d.in_corpus else "not indexed yet")
        event = f" · {d.event}" if d.event else ""
        dates = f" · {d.start_date}" + (f"–{d.end_date}" if d.end_date and d.end_date != d.start_date else "") if d.start_date else ""
        corrected = " · metadata corrected" if d.metadata_corrected else ""
        print(f"  {d.id}  [{d.type}, {d.size_bytes:,} bytes, {d.chunks} chunks, {state}]\n"
              f"      {d.title}{event}{dates}{corrected}")
    return EXIT_OK


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.uploads import UploadCandidate, UploadCheck, UploadRefused, UploadWriter
    from service.documents import DocumentCatalog

    candidates = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            print(f"tagungsbot: error: {name}: no such file; give the path of a document", file=sys.stderr)
            return EXIT_ERROR
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        candidates.append(UploadCandidate(path.name, path, path.stat().st_size, digest.hexdigest()))
    catalog = DocumentCatalog(settings.corpus_dir)
    try:
        accepted = UploadCheck(settings.corpus_dir, settings.max_file_bytes, max(settings.max_upload_files, len(candidates)),
                               catalog.content_hashes()).run(candidates)
        settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        UploadWriter(settings.corpus_dir).run(accepted)
    except UploadRefused as exc:
        print(f"tagungsbot: error: {exc} (nothing was added)", file=sys.stderr)
        return EXIT_ERROR
    records = _records(settings, create=True)
    if records is not None:
        try:
            for item in accepted:
                records.record_document(item.doc_id, item.sha256, item.size, original_filename=item.filename)
        except Exception as exc:  # noqa: BLE001 - the documents are in the corpus; only their records are missing
            print(f"tagungsbot: warning: the additions are not recorded in the database: {exc}", file=sys.stderr)
        finally:
            records.close()
    for item in accepted:
        print(f"added {item.doc_id} ({item.kind}, {item.size:,} bytes): {item.title}")
    return EXIT_OK if args.no_ingest else _ingest(settings, args.json)


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.event_metadata import write_corrections
    from service.documents import DocumentCatalog

    path = DocumentCatalog(settings.corpus_dir).path_of(args.id)
    if path is None:
        print(f"tagungsbot: error: no document {args.id!r} in {settings.corpus_dir}; `tagungsbot documents list` shows the ids",
              file=sys.stderr)
        return EXIT_ERROR
    path.unlink()
    write_corrections(path, {})
    records = _records(settings, create=False)
    if records is not None:
        try:
            records.forget_document(args.id)
        except Exception as exc:  # noqa: BLE001
            print(f"tagungsbot: warning: the record of {args.id} stays in the database: {exc}", file=sys.stderr)
        finally:
            records.close()
    print(f"removed {args.id}")
    return EXIT_OK if args.no_ingest else _ingest(settings, args.json)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("documents", help="list, add or remove documents of the corpus")
    commands = p.add_subparsers(dest="documents_command", required=True)

    c = commands.add_parser("list", help="documents of the corpus folder and the store, with their event metadata")
    c.add_argument("--json", action="store_true", help="print the list as JSON (as GET /api/admin/documents)")
    c.set_defaults(func=cmd_list)

    c = commands.add_parser("add", help="check documents like the upload API, copy them into the corpus, ingest")
    c.add_argument("files", nargs="+", metavar="FILE", help=".pdf (with text), .docx, .md, .txt or .html")
    c.add_argument("--no-ingest", action="store_true", help="only copy; run `tagungsbot ingest` later")
    c.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    c.set_defaults(func=cmd_add)

    c = commands.add_parser("remove", help="delete a document (and its metadata corrections) from the corpus, ingest")
    c.add_argument("id", help="the document's id: its path below the corpus folder (see `documents list`)")
    c.add_argument("--no-ingest", action="store_true", help="only delete; run `tagungsbot ingest` later")
    c.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    c.set_defaults(func=cmd_remove)
