"""The manifest: what a store was built from and with, checked before it is served."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vectorstore.errors import StoreCorruptError, StoreIncompatibleError

FORMAT_VERSION = 1
"""Bumped whenever the files of a store change shape; older stores must be rebuilt."""

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """Describes one built store version."""

    version: str
    model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    files: dict[str, str]
    chunk_count: int
    index_type: str
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION
    backend: str = "faiss"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, directory: Path) -> None:
        path = directory / MANIFEST_FILE
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        """Read and shape-check a manifest; raise a store error a person can act on."""
        path = directory / MANIFEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise StoreCorruptError(
                f"store manifest {path} is missing; re-run `tagungsbot ingest` to rebuild the store"
            ) from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreCorruptError(
                f"store manifest {path} is unreadable ({exc}); re-run `tagungsbot ingest` to rebuild the store"
            ) from exc
        if not isinstance(data, dict):
            raise StoreCorruptError(f"store manifest {path} is not a JSON object; re-run `tagungsbot ingest`")
        found = data.get("format_version")
        if found != FORMAT_VERSION:
            raise StoreIncompatibleError(
                f"store at {directory} has format version {found!r}, this tagungsbot reads version "
                f"{FORMAT_VERSION}; re-run `tagungsbot ingest` to rebuild it"
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise StoreCorruptError(f"store manifest {path} has unexpected fields ({exc}); re-run `tagungsbot ingest`") from exc

    def check_model(self, model: str, dimension: int | None = None) -> None:
        """Refuse a store whose vectors came from another model than the one configured."""
        if self.model != model:
            raise StoreIncompatibleError(
                f"the store was built with embedding model {self.model!r} but the service is configured "
                f"with {model!r}; re-run `tagungsbot ingest` with the current model, or set "
                f"TAGUNGSBOT_EMBEDDING_MODEL={self.model}"
            )
        if dimension is not None and self.dimension != dimension:
            raise StoreIncompatibleError(
                f"the store holds {self.dimension}-d vectors but the model gives {dimension}-d ones; "
                f"re-run `tagungsbot ingest`"
            )
