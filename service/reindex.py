"""Hot re-index: the real ingest runs in a child process; the service only loads its result.

Why a child: an ingest holds the corpus, a second copy of the model and its temporary
arrays. Inside the server that memory stayed (glibc keeps freed heap); in a child it
returns to the system when the child exits. The child runs at a lower priority (nice)
with one model thread, so questions keep being answered at full speed meanwhile.

One job at a time per index folder, across all worker processes: the job's owner holds
an `flock` on INDEX_DIR/.reindex.lock from start to end (released by the kernel even if
the owner dies), and writes the job's state to INDEX_DIR/reindex-status.json (replaced
atomically). Every worker answers the status from that file, so it never differs
between workers. A job whose owner died while it ran is reported as failed.

While it runs, the child reports its progress (stage "reading", "embedding", "writing";
done/total files or texts) through its pipe, and the owner puts it into the status file
(at most every half second); "loading" is the owner's own last stage.

A change of the corpus while a job runs (an upload, a deletion) must not be lost or
refused: `request()` then leaves a marker (INDEX_DIR/.reindex-pending) and the owner of the
running job starts one follow-up job when it ends. Any number of requests meanwhile
make one follow-up, which reads the corpus as it is then.

When the child succeeds, the owner calls `ServiceState.reload()`; other workers pick the
new version up with their store watcher. Requests already running finish on the old
store. A failed, crashed or killed child writes nothing that is served (see
`vectorstore.layout`): the previous store stays, and the job's `error` says why.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any, Callable, Literal

from service.state import ServiceState
from vectorstore.errors import TagungsbotError
from vectorstore.layout import write_failure
from vectorstore.settings import Settings

log = logging.getLogger("tagungsbot.reindex")

JobStatus = Literal["idle", "running", "succeeded", "failed"]

LOCK_FILE = ".reindex.lock"
STATUS_FILE = "reindex-status.json"
PENDING_FILE = ".reindex-pending"
PROGRESS_EVERY_S = 0.5  # status file writes while a job runs, at most
CHILD_MODEL_THREADS = 1
LOCK_ATTEMPTS = 6  # a status reader may hold the lock shared for a moment
LOCK_RETRY_S = 0.05
PR_SET_PDEATHSIG = 1


class ReindexBusy(Exception):
    """A re-index job is already running (in this or another worker process)."""


class ModelNotLoaded(Exception):
    """The service has no embedding model (it failed to load), so it cannot serve a new store."""


def release_freed_memory() -> None:
    """Give memory freed by the previous store back to the system.

    glibc keeps freed heap pages until asked to trim them; after a swap the old store's
    arrays are free.
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
    """State of the latest re-index job of an index folder, as reported by the admin API."""

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
    worker_pid: int | None = None
    child_pid: int | None = None
    started_unix: float | None = None  # for `seconds` while running, in any worker
    progress: dict[str, Any] | None = None  # {"stage", "done", "total"} while running
    pending: bool = False  # a follow-up job is queued (set when read, from the marker file)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ReindexJob":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class _ProgressSender:
    """Sends {"progress": {stage, done, total}} through the pipe: each new stage, the last step, and
    otherwise at most every `PROGRESS_EVERY_S`/2 seconds."""

    def __init__(self, results: Connection) -> None:
        self.results = results
        self._stage: str | None = None
        self._sent = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self._stage and done < total and now - self._sent < PROGRESS_EVERY_S / 2:
            return
        self._stage, self._sent = stage, now
        self.results.send({"progress": {"stage": stage, "done": int(done), "total": int(total)}})


def run_ingest_child(settings: Settings, niceness: int, results: Connection) -> None:
    """Body of the ingest child process: lower priority, then the real `Ingestor`.

    Sends progress messages ({"progress": ...}), then one final message: {"report": ...} or
    {"error": "what went wrong and what to do"}.
    The child asks the kernel to end it when the service process ends, so an ingest
    never goes on writing for a server that is gone.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    os.nice(niceness)
    from service.logging_config import configure_logging

    configure_logging(settings)  # the child's log lines join the service's log (stderr), at its level
    from ingest.loaders import LoadError
    from ingest.pipeline import Ingestor

    try:
        report = Ingestor(settings, progress=_ProgressSender(results)).run()
        message: dict[str, Any] = {"report": asdict(report)}
    except (TagungsbotError, LoadError) as exc:
        message = {"error": str(exc)}
    except Exception as exc:  # a bug must still come back as words, not a bare exit code
        logging.getLogger("tagungsbot.reindex").exception("ingest child failed unexpectedly")
        message = {"error": f"unexpected error in the ingest ({type(exc).__name__}: {exc}); see the service log"}
    results.send(message)
    results.close()


class JobFiles:
    """The index folder's re-index lock and shared status file."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.lock_path = index_dir / LOCK_FILE
        self.status_path = index_dir / STATUS_FILE
        self.pending_path = index_dir / PENDING_FILE

    def mark_pending(self) -> None:
        """Queue one follow-up job (idempotent)."""
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self.pending_path.touch()
        except OSError as exc:
            raise write_failure(exc, self.index_dir) from exc

    def take_pending(self) -> bool:
        """Remove the follow-up marker; True if there was one."""
        try:
            self.pending_path.unlink()
            return True
        except FileNotFoundError:
            return False

    def pending(self) -> bool:
        return self.pending_path.exists()

    def acquire(self) -> IO[bytes] | None:
        """Take the lock without waiting (a few quick tries); None when another job holds it."""
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_path, "a+b")
        except OSError as exc:
            raise write_failure(exc, self.index_dir) from exc
        for attempt in range(LOCK_ATTEMPTS):
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if attempt + 1 < LOCK_ATTEMPTS:
                    time.sleep(LOCK_RETRY_S)
        handle.close()
        return None

    def held_by_someone(self) -> bool:
        """True while a job owner (any process, this one included) holds the lock."""
        try:
            handle = open(self.lock_path, "rb")
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False

    def read(self) -> ReindexJob:
        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
            return ReindexJob.from_json(data) if isinstance(data, dict) else ReindexJob()
        except FileNotFoundError:
            return ReindexJob()
        except (OSError, ValueError, TypeError) as exc:
            log.warning("re-index status file %s cannot be read (%s); reporting no job", self.status_path, exc)
            return ReindexJob()

    def write(self, job: ReindexJob) -> None:
        """Replace the status file atomically: a reader sees the old or the new state, whole."""
        tmp = self.index_dir / f".{STATUS_FILE}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(job.to_json(), fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.status_path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.error("re-index status cannot be written to %s: %s", self.status_path, exc)


class Reindexer:
    """Starts re-index jobs in a child process and reports them, for one `ServiceState`."""

    def __init__(
        self, state: ServiceState, on_result: Callable[[str], None] | None = None, niceness: int | None = None,
    ) -> None:
        self.state = state
        self.on_result = on_result  # told "succeeded"/"failed" (metrics)
        # Below the server's request threads (nice 0), which keep priority. Under a load that
        # keeps every core busy, 10 leaves the ingest a few per cent of the CPU; lower is faster.
        self.niceness = state.settings.reindex_nice if niceness is None else niceness
        if not 0 <= self.niceness <= 19:
            raise ValueError(
                f"TAGUNGSBOT_REINDEX_NICE={self.niceness} is outside 0-19; give 0 (same priority as requests) "
                f"up to 19 (only idle time), default 10"
            )
        self.files = JobFiles(state.settings.index_dir)
        self._thread: threading.Thread | None = None

    def status(self) -> ReindexJob:
        """The latest job of this index folder, the same from every worker."""
        job = self.files.read()
        job.pending = self.files.pending()
        if job.status == "running" and not self.files.held_by_someone():
            # The owner writes the final state before it releases the lock: read again, in case it
            # ended between the read above and the lock check.
            job = self.files.read()
            job.pending = self.files.pending()
        if job.status == "running":
            if not self.files.held_by_someone():
                job.status = "failed"
                job.error = (
                    f"the service process (pid {job.worker_pid}) that ran this job ended before the job finished; "
                    f"nothing new was served; start the re-index again"
                )
                job.served_version = self._served()
            elif job.started_unix is not None:
                job.seconds = round(time.time() - job.started_unix, 1)
        return job

    def request(self) -> ReindexJob:
        """Start a job, or, while one runs, queue one follow-up that starts when it ends (the
        returned job then is the running one, with `pending` set). Raises `ModelNotLoaded` or a
        `TagungsbotError` (index folder not writable), never `ReindexBusy`."""
        try:
            return self.start()
        except ReindexBusy:
            pass
        self.files.mark_pending()
        try:
            return self.start()  # the running job may have ended just now, before it saw the marker
        except ReindexBusy:
            return self.status()

    def start(self) -> ReindexJob:
        """Start a job; raise `ReindexBusy`, `ModelNotLoaded`, or a `TagungsbotError` (index folder not writable)."""
        if self.state.embedder is None:
            raise ModelNotLoaded("the embedding model is not loaded, see /readyz; fix that and restart the service")
        handle = self.files.acquire()
        if handle is None:
            running = self.status()
            if running.status == "running":
                raise ReindexBusy(
                    f"re-index job {running.id} is still running (started {running.started_at} by service process "
                    f"{running.worker_pid})"
                )
            raise ReindexBusy("another re-index job is starting right now")
        try:
            self.files.take_pending()  # this job reads the corpus after every change queued so far
            previous = self.files.read()
            job = ReindexJob(
                id=previous.id + 1, status="running", started_at=_now(), started_unix=time.time(),
                previous_version=self._served(), worker_pid=os.getpid(), seconds=0.0,
            )
            self.files.write(job)
            self._thread = threading.Thread(target=self._supervise, args=(job, handle), name=f"reindex-{job.id}", daemon=True)
            self._thread.start()
        except BaseException:
            handle.close()
            raise
        return job

    def wait(self, timeout: float | None = None) -> ReindexJob:
        """Block until this process's current job ends (tests, CLI); returns its final state."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def _served(self) -> str | None:
        return getattr(self.state.current(), "version", None)

    def _supervise(self, job: ReindexJob, handle: IO[bytes]) -> None:
        """Run the child, wait for its one message, load the result, publish the outcome."""
        began = time.perf_counter()
        try:
            outcome = self._run_child(job)
        except Exception as exc:  # an unexpected bug must not leave the job 'running'
            log.exception("re-index job %d failed unexpectedly", job.id)
            outcome = {"status": "failed", "error": f"unexpected error ({type(exc).__name__}: {exc}); see the service log"}
        outcome.setdefault("served_version", self._served())
        for key, value in outcome.items():
            setattr(job, key, value)
        job.finished_at = _now()
        job.seconds = round(time.perf_counter() - began, 3)
        job.progress = None
        self.files.write(job)
        handle.close()  # releases the lock: the next job may start
        if job.status == "failed":
            log.error("re-index job %d failed, previous store still served: %s", job.id, job.error)
        if self.on_result is not None:
            self.on_result(job.status)
        if self.files.pending():
            self._follow_up(job)

    def _follow_up(self, finished: ReindexJob) -> None:
        """Start the job queued while `finished` ran (another worker may have started it already)."""
        try:
            job = self.start()
            log.info("re-index job %d: follow-up of job %d for changes made while it ran", job.id, finished.id)
        except ReindexBusy:
            pass  # someone else's job runs now and takes the marker up
        except (ModelNotLoaded, TagungsbotError) as exc:
            log.error("the queued re-index could not start after job %d: %s", finished.id, exc)

    def _run_child(self, job: ReindexJob) -> dict[str, Any]:
        settings = self.state.settings.with_overrides(show_progress=False, torch_threads=CHILD_MODEL_THREADS)
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the server's heap
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=run_ingest_child, args=(settings, self.niceness, writer), name=f"tagungsbot-ingest-{job.id}", daemon=True,
        )
        process.start()  # from this thread, which lives as long as the child (see PR_SET_PDEATHSIG)
        writer.close()
        job.child_pid = process.pid
        self.files.write(job)
        log.info("re-index job %d: ingest running in process %d (nice %d)", job.id, process.pid, self.niceness)
        message: dict[str, Any] | None = None
        written = 0.0
        try:
            while True:
                message = reader.recv()  # returns when the child sends, raises EOFError when it dies without
                if not (isinstance(message, dict) and "progress" in message):
                    break
                new_stage = job.progress is None or job.progress.get("stage") != message["progress"].get("stage")
                job.progress = message["progress"]
                last = job.progress.get("done") == job.progress.get("total")
                if new_stage or last or time.monotonic() - written >= PROGRESS_EVERY_S:
                    self.files.write(job)
                    written = time.monotonic()
                message = None
        except EOFError:
            pass
        finally:
            reader.close()
        process.join()
        if message is None or not isinstance(message, dict):
            return {"status": "failed", "error": self._death_reason(process.pid, process.exitcode)}
        if "error" in message:
            return {"status": "failed", "error": str(message["error"])}
        report = message["report"]
        job.progress = {"stage": "loading", "done": 0, "total": 1}
        self.files.write(job)
        served = self.state.reload()
        release_freed_memory()
        version = report.get("version")
        if version is not None and served != version:
            return {
                "status": "failed", "version": version, "report": report,
                "error": f"store {version} was written but cannot be served: {self.state.last_reload_error}; still serving {served}",
            }
        log.info("re-index job %d: store %s served (%s documents)", job.id, version, report.get("documents"))
        return {"status": "succeeded", "version": version, "report": report, "served_version": served}

    def _death_reason(self, pid: int | None, exitcode: int | None) -> str:
        still = f"the previous store {self._served()} is still served" if self._served() else "no store was written"
        if exitcode is not None and exitcode < 0:
            try:
                name = signal.Signals(-exitcode).name
            except ValueError:
                name = f"signal {-exitcode}"
            hint = " (the system may have run out of memory)" if exitcode == -signal.SIGKILL else ""
            return f"the ingest process (pid {pid}) was killed by {name}{hint}; {still}; start the re-index again"
        return f"the ingest process (pid {pid}) ended with exit code {exitcode} without a report; {still}; see the service log"
