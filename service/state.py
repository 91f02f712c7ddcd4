"""What the running service holds: the model, and the store it currently serves.

The store is swapped whole when a new version appears (hot re-index): a request takes
one `QuestionAnswering` at its start and uses it to the end, so it never mixes two
store versions, and in-flight requests finish on the old one. A new version that
cannot be loaded (any error: a damaged file, a bug) is counted, logged with its paths,
reported without them in /readyz, and skipped; the old one stays served and the
watcher loads the next version that appears.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from service.qa import QuestionAnswering
from service.retrieval import FusionWeights
from service.translation import Dictionary, installed_dictionary
from vectorstore.embedding import Embedder
from vectorstore.errors import TagungsbotError
from vectorstore.settings import Settings
from vectorstore.store import StoreSource, store_source

log = logging.getLogger("tagungsbot.service")


@dataclass(frozen=True)
class NotReady:
    """Why the service cannot answer yet, in words for any caller (no server paths)."""

    reason: str


class PublicText:
    """Rewrites an error message for anonymous callers: the problem and the fix stay, absolute
    server paths go (the configured folders become their names, any other path a placeholder).
    The full message goes to the log and to admin callers."""

    _PATH = re.compile(r"(?<![\w/.~>-])/(?:[^\s'\"`,;:()\[\]{}<>]+)")
    _ROUTES = ("/api/", "/metrics", "/readyz", "/healthz", "/docs")

    def __init__(self, folders: Mapping[str, Path]) -> None:
        pairs: dict[str, str] = {}
        for label, folder in folders.items():
            for form in {str(Path(folder).absolute()), os.path.realpath(folder)}:
                if form != "/":
                    pairs[form] = f"<{label}>"
        self._folders = sorted(pairs.items(), key=lambda kv: -len(kv[0]))  # longest (innermost) first

    def run(self, message: str) -> str:
        for form, label in self._folders:
            message = re.sub(re.escape(form) + r"(?=/|\b|$)", label, message)
        return self._PATH.sub(lambda m: m.group(0) if m.group(0).startswith(self._ROUTES) else "<server path>", message)


class ServiceState:
    """Owns the embedder and the served `QuestionAnswering`; thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder: Embedder | None = None
        # Retrieval's configuration, given to every store version's `QuestionAnswering`.
        self.weights = FusionWeights.from_settings(settings)
        self.dictionary: Dictionary | None = None  # read in `start`, with the model
        self._qa: QuestionAnswering | None = None
        self._not_ready = NotReady("the service is starting")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.source: StoreSource = store_source(settings)  # a folder (FAISS) or a Milvus server
        # Hooks and figures for metrics and /api/admin/stats (see service.metrics).
        self.qa_factory: Callable[..., QuestionAnswering] = QuestionAnswering
        self.reload_counts: dict[str, int] = {"ok": 0, "failed": 0}
        self.last_reload_error: str | None = None  # full text, with paths: log and admin stats only
        self.last_reload_error_public: str | None = None  # the same without server paths: /readyz
        self.public_text = PublicText({
            "index folder": settings.index_dir, "corpus folder": settings.corpus_dir,
            "model cache": settings.model_cache_dir,
        })
        self._failed_version: str | None = None
        self._served_name: str | None = None  # what CURRENT named when the served store was loaded
        self._watch_error: str | None = None

    def start(self) -> None:
        """Load model and store; problems are remembered (served as 503), not raised."""
        try:
            self.embedder = Embedder.load(
                self.settings.embedding_model, self.settings.model_cache_dir, self.settings.torch_threads,
                backend=self.settings.embedding_backend,
            )
            if self.settings.crosslingual_shift:
                self.embedder.aligner()  # read (or compute once) now, not in the first English request
            self.dictionary = installed_dictionary(self.settings.dictionary_path, self.settings.model_cache_dir)
        except Exception as exc:  # noqa: BLE001 - the server stays up and says why (503), whatever failed
            if isinstance(exc, TagungsbotError):
                log.error("%s", exc)
                reason = str(exc)
            else:
                log.exception("the embedding model could not be loaded")
                reason = f"the embedding model could not be loaded ({type(exc).__name__}: {exc}); see the server log"
            self._not_ready = NotReady(self.public_text.run(reason))
            return
        self.reload()
        if self.settings.reload_poll_s > 0:
            self._watcher = threading.Thread(target=self._watch, name="store-watcher", daemon=True)
            self._watcher.start()

    def stop(self) -> None:
        self._stop.set()

    def current(self) -> QuestionAnswering | NotReady:
        qa = self._qa
        return qa if qa is not None else self._not_ready

    def reload(self) -> str | None:
        """Load the version CURRENT names if it is not served yet; return the served version."""
        if self.embedder is None:
            return None
        with self._lock:
            wanted: str | None = None
            try:
                wanted = self.source.current_version()
                if self._qa is not None and wanted in (self._qa.version, self._served_name):
                    return self._qa.version
                store = self.source.open()
                store.manifest.check_model(self.settings.embedding_model, self.embedder.dimension)
                qa = self.qa_factory(store, self.embedder, weights=self.weights, dictionary=self.dictionary)
            except Exception as exc:  # noqa: BLE001 - a damaged version must never stop the service
                self._refused(wanted, exc)
                return self._qa.version if self._qa else None
            self._qa = qa
            self._served_name = wanted
            self.reload_counts["ok"] += 1
            self.last_reload_error = self.last_reload_error_public = None
            self._failed_version = None
            log.info("serving store %s (%d chunks)", store.manifest.version, len(store.chunks))
            return store.manifest.version

    def _refused(self, version: str | None, exc: Exception) -> None:
        """Count and record a version that could not be served; keep serving the old one."""
        if isinstance(exc, TagungsbotError):
            reason = str(exc)
        else:  # not one of our named errors: a damaged file a check missed, or a bug; the log has the traceback
            reason = f"loading it failed ({type(exc).__name__}: {exc}); re-run `tagungsbot ingest`, and see the server log"
        self.reload_counts["failed"] += 1
        self.last_reload_error = f"store version {version}: {reason}" if version else reason
        self.last_reload_error_public = self.public_text.run(self.last_reload_error)
        self._failed_version = version  # the watcher does not retry it until CURRENT changes
        log_call = log.error if isinstance(exc, TagungsbotError) else log.exception
        if self._qa is None:
            self._not_ready = NotReady(self.public_text.run(reason))
            log_call("store not loaded: %s", self.last_reload_error)
        else:
            log_call("new store not loaded, still serving %s: %s", self._qa.version, self.last_reload_error)

    _WATCH_FAILED = "looking for a new store version failed"

    def _watch(self) -> None:
        """Poll for a new version until `stop`; survives any error, counting each new one once."""
        while not self._stop.wait(self.settings.reload_poll_s):
            try:
                self._watch_once()
                if self._watch_error is not None:  # recovered: the watcher's own error is over
                    self._watch_error = None
                    if self.last_reload_error and self.last_reload_error.startswith(self._WATCH_FAILED):
                        self.last_reload_error = self.last_reload_error_public = None
            except Exception as exc:  # noqa: BLE001 - the watcher thread must not die
                text = f"{type(exc).__name__}: {exc}"
                if text != self._watch_error:  # the same failure at every poll is counted once
                    self._watch_error = text
                    self.reload_counts["failed"] += 1
                    self.last_reload_error = f"{self._WATCH_FAILED} ({text})"
                    self.last_reload_error_public = self.public_text.run(self.last_reload_error)
                    log.exception("store watcher: %s", self.last_reload_error)

    def _watch_once(self) -> None:
        version = self.source.current_version()
        served = (self._qa.version, self._served_name) if self._qa else ()
        if version is not None and version not in served and version != self._failed_version:
            self.reload()
