"""Structured JSON logs for the service, and the opt-in question log.

Service logs (startup, store swaps, access lines, errors) go to stderr, one JSON object
per line, so a log shipper can parse them. They never contain question texts: the access
line has the route template, not the query string.

Question texts can contain personal data. They are written only when
`TAGUNGSBOT_LOG_QUESTIONS=1`, and then only to `TAGUNGSBOT_LOG_DIR/questions.log`, which
rotates at midnight (UTC) and keeps `TAGUNGSBOT_LOG_RETENTION_DAYS` old files; older ones
are deleted by the rotation. The file is created readable by the service's user only
(0600), after each rotation too; a new log folder is 0700.

With `tagungsbot serve --workers N`, every worker process sets up the same logging when
it starts (`service.app.create_worker_app`); each line carries the process id (`pid`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path
from typing import Any

from vectorstore.errors import TagungsbotError
from vectorstore.settings import Settings

QUESTION_LOG_FILE = "questions.log"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and any `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: Settings) -> None:
    """Send all service logs (ours and uvicorn's) to stderr at `settings.log_level`, as JSON unless
    TAGUNGSBOT_LOG_JSON=0."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_json else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    quiet_third_party_loggers()


def quiet_third_party_loggers() -> None:
    """FAISS logs its CPU-feature probing ("No module named faiss.swigfaiss_avx512") at INFO,
    which reads like an error to an operator; only its warnings are worth showing."""
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)


def question_logger(settings: Settings) -> logging.Logger | None:
    """The question log when TAGUNGSBOT_LOG_QUESTIONS=1, else None (nothing is written).

    The logger is not registered in `logging`'s global tree, so it cannot leak into other
    handlers, and each app gets its own.
    """
    if not settings.log_questions:
        return None
    if settings.log_retention_days < 1:
        raise TagungsbotError(
            f"TAGUNGSBOT_LOG_RETENTION_DAYS={settings.log_retention_days} must be at least 1 while "
            f"TAGUNGSBOT_LOG_QUESTIONS=1; set the number of days question logs are kept"
        )
    directory = Path(settings.log_dir)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = question_log_handler(directory / QUESTION_LOG_FILE, settings.log_retention_days)
    except OSError as exc:
        raise TagungsbotError(
            f"cannot write the question log in {directory.resolve()} ({exc.strerror or exc}); "
            f"set TAGUNGSBOT_LOG_DIR to a writable folder or TAGUNGSBOT_LOG_QUESTIONS=0"
        ) from exc
    logger = logging.Logger("tagungsbot.questions", logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    return logger


class PrivateRotatingFileHandler(TimedRotatingFileHandler):
    """A `TimedRotatingFileHandler` whose files only their owner may read (0600).

    The mode is set on the open file itself, so the file is never readable by others, not
    even for a moment after a rotation; a file an older version left 0644 is narrowed too.
    """

    FILE_MODE = 0o600

    def _open(self):  # type: ignore[override]  # called for the first file and after every rotation
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, self.FILE_MODE)
        try:
            os.fchmod(fd, self.FILE_MODE)
            return open(fd, self.mode, encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


def question_log_handler(path: Path, retention_days: int) -> TimedRotatingFileHandler:
    """Daily rotation at UTC midnight; `backupCount` = days of old files kept; files 0600."""
    handler = PrivateRotatingFileHandler(path, when="midnight", backupCount=retention_days, encoding="utf-8", utc=True)
    handler.setFormatter(JsonFormatter())
    return handler


def close_logger(logger: logging.Logger | None) -> None:
    if logger is None:
        return
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
