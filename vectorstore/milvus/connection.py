"""The one client a process holds to Milvus: readable errors, retries, the version record.

The same code talks to Milvus Lite's gRPC server, a Milvus standalone or a cluster,
chosen by URI. Every failure becomes a `MilvusStoreError` that says what to fix.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Iterator, Sequence

from vectorstore.errors import StoreCorruptError, StoreIncompatibleError, TagungsbotError
from vectorstore.milvus.schema import Published
from vectorstore.settings import Settings

log = logging.getLogger("tagungsbot.milvus")

BATCH = 1_000  # rows per insert or upsert request
IN_LIST = 500  # values per `field in [...]` filter
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")


class MilvusStoreError(TagungsbotError):
    """Milvus cannot be reached, refused a request, or holds data this version cannot use."""


def quote(value: str) -> str:
    """A Milvus filter string literal for `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def in_list(field_name: str, values: Sequence[str | int]) -> str:
    """`field in [...]` filter for strings or ints."""
    items = ", ".join(quote(v) if isinstance(v, str) else str(int(v)) for v in values)
    return f"{field_name} in [{items}]"


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


class MilvusConnection:
    """One `MilvusClient` per process, opened on first use; every call's errors made readable."""

    def __init__(self, uri: str, token: str, collection: str, timeout_s: float) -> None:
        if not _COLLECTION_NAME.match(collection):
            raise MilvusStoreError(
                f"TAGUNGSBOT_MILVUS_COLLECTION={collection!r} is not a valid Milvus collection name; use letters, "
                f"digits and underscores, starting with a letter (e.g. tagungsbot)"
            )
        self.uri = uri
        self.collection = collection
        self.meta = f"{collection}_meta"
        self.timeout_s = timeout_s
        self._token = token
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "MilvusConnection":
        return cls(settings.milvus_uri, settings.milvus_token, settings.milvus_collection, settings.milvus_timeout_s)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    from pymilvus import MilvusClient
                except ImportError as exc:
                    raise MilvusStoreError(
                        "TAGUNGSBOT_VECTOR_BACKEND=milvus needs pymilvus; run `pip install -e '.[milvus]'`"
                    ) from exc
                # pymilvus logs every failed call with a traceback (and its iterators warn on
                # Milvus Lite); we raise our own error with the same message and a fix instead.
                for name in ("pymilvus", "pymilvus.milvus_client"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)
                try:
                    self._client = MilvusClient(uri=self.uri, token=self._token, timeout=self.timeout_s)
                except Exception as exc:  # pymilvus raises MilvusException or grpc errors
                    raise self._error("connect", exc) from exc
            return self._client

    def call(self, action: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """`client.<method>(*args, **kwargs)`; failures become a `MilvusStoreError` naming `action`.

        Two failures are repaired: an unreachable Milvus (restarting, a proxy failing over)
        is tried twice more after 0.5 s and 1 s, and a collection that is not loaded (Milvus
        Lite after a restart, a cluster after a release) is loaded once.
        """
        waits = [0.5, 1.0]
        loaded = False
        while True:
            client = self.client
            try:
                return getattr(client, method)(*args, timeout=self.timeout_s, **kwargs)
            except TagungsbotError:
                raise
            except Exception as exc:
                if waits and _unreachable(exc):
                    log.warning("Milvus at %s unreachable (%s); trying again", self.uri, _message(exc))
                    time.sleep(waits.pop(0))
                    continue
                if not loaded and _not_loaded(exc) and args and isinstance(args[0], str):
                    loaded = True
                    log.warning("Milvus collection %s was not loaded; loading it", args[0])
                    try:
                        client.load_collection(args[0], timeout=self.timeout_s)
                    except Exception as load_exc:
                        raise self._error(action, load_exc) from load_exc
                    continue
                raise self._error(action, exc) from exc

    def _error(self, action: str, exc: Exception) -> MilvusStoreError:
        message = _message(exc)
        if _unreachable(exc):
            fix = (
                "check that Milvus is running there and reachable, or set TAGUNGSBOT_MILVUS_URI "
                "(and TAGUNGSBOT_MILVUS_TOKEN if it requires authentication)"
            )
        else:
            fix = "if the collections were changed by hand, re-run `tagungsbot ingest` to rebuild them"
        return MilvusStoreError(f"Milvus at {self.uri}: {action} failed ({message}); {fix}")

    def has(self, name: str) -> bool:
        return bool(self.call(f"look up collection {name}", "has_collection", name))

    def published(self) -> Published | None:
        """The current version record, or None when nothing was ever published."""
        if not self.has(self.meta):
            return None
        rows = self.call("read the version record", "query", self.meta, filter='key == "current"', output_fields=["value"])
        if not rows:
            return None
        return Published.from_json(rows[0]["value"], f"{self.uri} ({self.meta})")

    def published_for_rebuild(self) -> Published | None:
        """The version record, or None when it is missing or from an older tagungsbot (then ingest rebuilds)."""
        try:
            return self.published()
        except (StoreIncompatibleError, StoreCorruptError) as exc:
            log.warning("%s; building a new store", exc)
            return None

    def iterate(self, collection: str, filter_expr: str, fields: list[str], batch_size: int = 4_096) -> Iterator[dict]:
        """All rows matching `filter_expr`, in pages (Milvus caps a single query's result size)."""
        iterator = self.call(
            f"read {collection}", "query_iterator", collection, batch_size=batch_size, filter=filter_expr, output_fields=fields
        )
        try:
            while True:
                try:
                    page = iterator.next()
                except Exception as exc:
                    raise self._error(f"read {collection}", exc) from exc
                if not page:
                    return
                yield from page
        finally:
            iterator.close()

    def count(self, collection: str, filter_expr: str) -> int:
        rows = self.call(f"count rows of {collection}", "query", collection, filter=filter_expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


def _unreachable(exc: Exception) -> bool:
    """Whether the call failed because Milvus could not be reached."""
    message = _message(exc).lower()
    return getattr(exc, "code", None) == 2 or "connect" in message or "unavailable" in message


def _not_loaded(exc: Exception) -> bool:
    """Whether Milvus refused because the collection is not loaded (released)."""
    message = _message(exc).lower()
    return "not loaded" in message or "released" in message or "load()" in message
