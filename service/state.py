"""What the running service holds: the model, and the store it currently serves.

The store is swapped whole when a new version appears (hot re-index): a request takes
one `QuestionAnswering` at its start and uses it to the end, so it never mixes two
store versions, and in-flight requests finish on the old one. A new version that
cannot be loaded is logged and ignored; the old one stays served.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from service.qa import QuestionAnswering
from service.translation import installed_dictionary
from vectorstore.embedding import Embedder
from vectorstore.errors import TagungsbotError
from vectorstore.faiss_store import FaissStore
from vectorstore.settings import Settings
from vectorstore.store import StoreSource, store_source

log = logging.getLogger("tagungsbot.service")


@dataclass(frozen=True)
class NotReady:
    """Why the service cannot answer yet, in words for the user."""

    reason: str


class ServiceState:
    """Owns the embedder and the served `QuestionAnswering`; thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder: Embedder | None = None
        self._qa: QuestionAnswering | None = None
        self._not_ready = NotReady("the service is starting")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.source: StoreSource = store_source(settings)  # a folder (FAISS) or a Milvus server
        # Hooks and figures for metrics and /api/admin/stats (see service.metrics).
        self.qa_factory: Callable[[FaissStore, Embedder], QuestionAnswering] = QuestionAnswering
        self.reload_counts: dict[str, int] = {"ok": 0, "failed": 0}
        self.last_reload_error: str | None = None
        self._failed_version: str | None = None

    def start(self) -> None:
        """Load model and store; problems are remembered (served as 503), not raised."""
        try:
            self.embedder = Embedder.load(
                self.settings.embedding_model, self.settings.model_cache_dir, self.settings.torch_threads,
                backend=self.settings.embedding_backend,
            )
            if self.settings.crosslingual_shift:
                self.embedder.aligner()  # read (or compute once) now, not in the first English request
            installed_dictionary(self.settings.dictionary_path, self.settings.model_cache_dir)  # likewise
        except TagungsbotError as exc:
            log.error("%s", exc)
            self._not_ready = NotReady(str(exc))
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
                if self._qa is not None and wanted == self._qa.version:
                    return wanted
                store = self.source.open()
                store.manifest.check_model(self.settings.embedding_model, self.embedder.dimension)
            except TagungsbotError as exc:
                self.reload_counts["failed"] += 1
                self.last_reload_error = f"store version {wanted}: {exc}" if wanted else str(exc)
                self._failed_version = wanted  # the watcher does not retry it until CURRENT changes
                if self._qa is None:
                    self._not_ready = NotReady(str(exc))
                    log.error("store not loaded: %s", exc)
                else:
                    log.error("new store not loaded, still serving %s: %s", self._qa.version, exc)
                return self._qa.version if self._qa else None
            self._qa = self.qa_factory(store, self.embedder)
            self.reload_counts["ok"] += 1
            self.last_reload_error = None
            self._failed_version = None
            log.info("serving store %s (%d chunks)", store.manifest.version, len(store.chunks))
            return store.manifest.version

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.reload_poll_s):
            try:
                version = self.source.current_version()
            except TagungsbotError:
                continue
            served = self._qa.version if self._qa else None
            if version is not None and version != served and version != self._failed_version:
                self.reload()
