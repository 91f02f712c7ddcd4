"""The event a document reports on: read from the document, corrected by the editor.

Metadata keys are the ones the answering reads (`service.answering.events.event_of`):
`title`, `event`, `event_start`, `event_end` (ISO dates), `place`, `organiser`. They come,
first found wins, from

1. the document's own metadata: Markdown front matter, PDF /Title, DOCX core properties;
2. labelled lines near the top of the text ("Veranstaltung: …", "Datum: 8.–9. Oktober 2025",
   "Ort: …", "Veranstalter: …", or the English labels Event, Date, Venue, Organiser);

and an editor's corrections, stored beside the document as `<file>.meta.json`, win over
both. The sidecar uses the API's field names (`start_date`, `end_date`); a field that is
absent or null is not corrected.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from ingest.loaders import SIDECAR_SUFFIX, LoadedFile, LoadError

CORRECTABLE = ("title", "event", "start_date", "end_date", "place", "organiser")
"""Fields an editor may correct (the API's names)."""

METADATA_KEY = {"title": "title", "event": "event", "start_date": "event_start", "end_date": "event_end",
                "place": "place", "organiser": "organiser"}
"""API field → metadata key of a document (what `events.event_of` reads)."""

MAX_FIELD_CHARS = 300
FIRST_BLOCKS = 12  # labelled lines are looked for in this many blocks from the top

_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2, "märz": 3, "maerz": 3,
    "march": 3, "mär": 3, "mar": 3, "april": 4, "apr": 4, "mai": 5, "may": 5, "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10,
    "october": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11, "dezember": 12, "december": 12, "dez": 12, "dec": 12,
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# "8.", "08.10.", "8.10.2025", "8. Oktober 2025", "30. September": day, then month (number or name), then year
_GERMAN = re.compile(r"(?<![\d.])(\d{1,2})\.\s*(?:(\d{1,2})\.|" + _MONTH + r")?\s*(\d{4})?", re.I)
# "October 8–9, 2025", "October 8, 2025"
_ENGLISH_MD = re.compile(_MONTH + r"\s+(\d{1,2})(?!\d)(?:\s*[–-]\s*(\d{1,2})(?!\d))?(?:st|nd|rd|th)?,?\s*(\d{4})?", re.I)
# "8–9 October 2025", "8 October 2025"
_ENGLISH_DM = re.compile(r"(?<![\d.])(\d{1,2})(?:st|nd|rd|th)?(?:\s*[–-]\s*(\d{1,2})(?:st|nd|rd|th)?)?\s+" + _MONTH + r"\s*,?\s*(\d{4})?", re.I)

_LABELS = {
    "event": r"veranstaltung|event|tagung|konferenz|conference",
    "date": r"datum|termin|zeitraum|date|dates|when|wann",
    "place": r"veranstaltungsort|tagungsort|ort|place|venue|location",
    "organiser": r"veranstalter(?:in)?|ausrichter|organisator|organi[sz]er|organi[sz]ed by|hosted by",
}
_LABELLED = re.compile(
    r"^\W*(" + "|".join(f"(?P<{k}>{v})" for k, v in _LABELS.items()) + r")\s*:\s*(?P<value>\S.{0,299})$", re.I
)


def event_dates(text: str) -> tuple[str | None, str | None]:
    """First and last day of a date text in German, English or ISO form, as ISO dates.

    "8.–9. Oktober 2025" → ("2025-10-08", "2025-10-09"); "08.10.2025" → both "2025-10-08";
    "October 8–9, 2025" → 8th and 9th; parts without a year or month take them from the
    next date that has them. (None, None) when no complete date is found.
    """
    found: list[tuple[int, int | None, int | None]] = []  # (day, month, year) in text order
    iso = [(int(d), int(m), int(y)) for y, m, d in _ISO.findall(text)]
    if iso:
        found = iso
    else:
        for match in _ENGLISH_MD.finditer(text):
            month, day, day2, year = _MONTHS[match.group(1).lower().rstrip(".")], match.group(2), match.group(3), match.group(4)
            found.append((int(day), month, int(year) if year else None))
            if day2:
                found.append((int(day2), month, int(year) if year else None))
        if not found:
            for match in _ENGLISH_DM.finditer(text):
                day, day2, month, year = match.group(1), match.group(2), _MONTHS[match.group(3).lower().rstrip(".")], match.group(4)
                found.append((int(day), month, int(year) if year else None))
                if day2:
                    found.append((int(day2), month, int(year) if year else None))
        if not found:
            for match in _GERMAN.finditer(text):
                day, month_num, month_name, year = match.groups()
                month = int(month_num) if month_num else (_MONTHS[month_name.lower().rstrip(".")] if month_name else None)
                found.append((int(day), month, int(year) if year else None))
    days: list[date] = []
    month: int | None = None
    year: int | None = None
    for day, m, y in reversed(found):  # a part without month or year takes them from the date after it
        month = m or month
        year = y or year
        if month is None or year is None:
            continue
        try:
            days.append(date(year, month, day))
        except ValueError:
            continue
    if not days:
        return None, None
    days.reverse()
    return days[0].isoformat(), days[-1].isoformat()


def labelled_metadata(loaded: LoadedFile) -> dict[str, str]:
    """Event metadata from labelled lines near the top ("Ort: Leipzig"), in metadata keys."""
    found: dict[str, str] = {}
    lines = list(loaded.head) or [line for block in loaded.blocks[:FIRST_BLOCKS] for line in block.text.splitlines()]
    for line in lines:
        match = _LABELLED.match(line.strip().lstrip("•").strip())
        if not match:
            continue
        value = match.group("value").strip().strip("*_").strip()
        if match.group("date") and "event_start" not in found:
            start, end = event_dates(value)
            if start:
                found["event_start"], found["event_end"] = start, end or start
        elif match.group("event"):
            found.setdefault("event", value)
        elif match.group("place"):
            found.setdefault("place", value)
        elif match.group("organiser"):
            found.setdefault("organiser", value)
    return found


def sidecar_of(path: Path) -> Path:
    """Where the editor's corrections of the document at `path` are kept."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def check_corrections(values: Mapping[str, Any]) -> dict[str, str]:
    """The corrections that are set, checked; raise `ValueError` saying what is wrong and how to fix it."""
    unknown = sorted(set(values) - set(CORRECTABLE))
    if unknown:
        raise ValueError(f"unknown metadata field(s) {', '.join(unknown)}; correctable are {', '.join(CORRECTABLE)}")
    checked: dict[str, str] = {}
    for name in CORRECTABLE:
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name} must be text or null, not {type(value).__name__}")
        value = " ".join(value.split())
        if not value:
            continue
        if len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"{name} has {len(value)} characters; at most {MAX_FIELD_CHARS} are allowed")
        if name in ("start_date", "end_date"):
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise ValueError(f"{name} {value!r} is not a date; give it as YYYY-MM-DD, e.g. 2026-03-12") from None
        checked[name] = value
    if "start_date" in checked and "end_date" in checked and checked["end_date"] < checked["start_date"]:
        raise ValueError(f"end_date {checked['end_date']} is before start_date {checked['start_date']}; swap them")
    return checked


def read_corrections(document: Path) -> dict[str, str]:
    """The editor's corrections of `document` ({} without a sidecar); `LoadError` if the sidecar is broken."""
    path = sidecar_of(document)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: the metadata corrections cannot be read ({exc}); fix its permissions or delete it") from exc
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        return check_corrections(data)
    except ValueError as exc:
        raise LoadError(
            f"{path}: the metadata corrections are invalid ({exc}); correct them on the editors' page "
            f"(PUT /api/admin/documents/<id>/metadata) or delete the file"
        ) from exc


def write_corrections(document: Path, corrections: Mapping[str, str]) -> Path | None:
    """Store checked corrections beside `document` atomically; remove the sidecar when there are none."""
    path = sidecar_of(document)
    if not corrections:
        path.unlink(missing_ok=True)
        return None
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(dict(corrections), fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class EventMetadata:
    """Completes a loaded file's event metadata: own metadata, then labelled lines, then corrections."""

    def run(self, loaded: LoadedFile, corrections: Mapping[str, str]) -> LoadedFile:
        metadata = dict(loaded.metadata)
        for key, value in labelled_metadata(loaded).items():
            metadata.setdefault(key, value)
        if metadata.get("event_start") and not metadata.get("event_end"):
            metadata["event_end"] = metadata["event_start"]
        for name, value in corrections.items():
            metadata[METADATA_KEY[name]] = value
        if corrections:
            metadata["corrected"] = sorted(corrections)
        title = corrections.get("title") or loaded.title
        return replace(loaded, title=title, metadata=metadata)
