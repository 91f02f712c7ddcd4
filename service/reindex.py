"""Hot re-index: run the real ingest inside the running service, then swap the store.

One job at a time runs in a background thread. It re-uses the service's loaded
embedding model (no second copy in memory), writes a new store version atomically
(see `vectorstore.layout`), and asks `ServiceState` to swap to it. Requests that are
already running keep the `QuestionAnswering` they started with, so they finish on the
old store; new requests get the new one. A failed job writes nothing that is served:
the previous store stays, and the job's `error` says what went wrong and what to do.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Literal

from ingest.loaders import LoadError
from ingest.pipeline import Ingestor
from service.state import ServiceState
from vectorstore.errors import TagungsbotError

log = logging.getLogger("tagungsbot.reindex")

JobStatus = Literal["idle", "running", "succeeded", "failed"]


class ReindexBusy(Exception):
    """A re-index job is already running."""


class ModelNotLoaded(Exception):
    """The service has no embedding model (it failed to load), so it cannot ingest."""


def release_freed_memory() -> None:
    """Give memory freed by the ingest and the old store back to the system.

    The ingest runs inside the service; its temporary arrays and the previous store are
    freed afterwards, but glibc keeps freed heap pages until asked to trim them.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class ReindexJob:
    """State of the latest re-index job, as reported by the admin API."""

    id: int = 0
    status: JobStatus = "idle"
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    previous_version: str | None = None
    version: str | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    served_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Reindexer:
    """Starts and tracks re-index jobs for one `ServiceState`."""

    state: ServiceState
    on_result: Callable[[str], None] | None = None  # told "succeeded"/"failed" (metrics)
    _job: ReindexJob = field(default_factory=ReindexJob)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def status(self) -> ReindexJob:
        with self._lock:
            return ReindexJob(**asdict(self._job))

    def start(self) -> ReindexJob:
        """Start a job in the background; raise `ReindexBusy` or `ModelNotLoaded`."""
        if self.state.embedder is None:
            raise ModelNotLoaded("the embedding model is not loaded, see /readyz; fix that and restart the service")
        with self._lock:
            if self._job.status == "running":
                raise ReindexBusy(f"re-index job {self._job.id} is still running (started {self._job.started_at})")
            current = self.state.current()
            self._job = ReindexJob(
                id=self._job.id + 1, status="running", started_at=_now(),
                previous_version=getattr(current, "version", None),
            )
            job = ReindexJob(**asdict(self._job))
            self._thread = threading.Thread(target=self._run, args=(job.id,), name=f"reindex-{job.id}", daemon=True)
            self._thread.start()
        return job

    def wait(self, timeout: float | None = None) -> ReindexJob:
        """Block until the current job ends (tests, CLI); returns its final state."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def _run(self, job_id: int) -> None:
        began = time.perf_counter()
        settings = self.state.settings.with_overrides(show_progress=False)
        embedder = self.state.embedder
        outcome: dict[str, Any]
        try:
            report = Ingestor(settings, embedder_factory=lambda: embedder).run()  # type: ignore[arg-type,return-value]
            served = self.state.reload()
            release_freed_memory()
            if report.version is not None and served != report.version:
                raise TagungsbotError(
                    f"store {report.version} was written but cannot be served: {self.state.last_reload_error}; "
                    f"still serving {served}"
                )
            outcome = {"status": "succeeded", "version": report.version, "report": asdict(report), "served_version": served}
            log.info("re-index job %d: %s", job_id, report.summary())
        except (TagungsbotError, LoadError) as exc:
            outcome = {"status": "failed", "error": str(exc), "served_version": getattr(self.state.current(), "version", None)}
            log.error("re-index job %d failed, previous store still served: %s", job_id, exc)
        except Exception as exc:  # an unexpected bug must not kill the thread silently
            outcome = {
                "status": "failed", "served_version": getattr(self.state.current(), "version", None),
                "error": f"unexpected error ({type(exc).__name__}: {exc}); the previous store is still served; see the service log",
            }
            log.exception("re-index job %d failed unexpectedly", job_id)
        with self._lock:
            for key, value in outcome.items():
                setattr(self._job, key, value)
            self._job.finished_at = _now()
            self._job.seconds = round(time.perf_counter() - began, 3)
        if self.on_result is not None:
            self.on_result(outcome["status"])
