"""The manifest: what a store was built from and with, checked before it is served."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vectorstore.errors import StoreCorruptError, StoreIncompatibleError

FORMAT_VERSION = 1
"""Bumped whenever the files of a store change shape; older stores must be rebuilt."""

MANIFEST_FILE = "manifest.json"

CHECKSUM_ALGORITHM = "sha256"
"""Checksums of store files are "sha256:<hex>": the same hash ingest uses for corpus files
(hashlib's SHA-256 was the fastest of sha256/blake2b/sha1 here, ~450 MB/s on one core)."""


def file_checksum(path: Path) -> str:
    """"sha256:<hex>" of a file's bytes, read in blocks."""
    with open(path, "rb") as fh:
        return f"{CHECKSUM_ALGORITHM}:{hashlib.file_digest(fh, CHECKSUM_ALGORITHM).hexdigest()}"


def folder_checksums(directory: Path) -> dict[str, str]:
    """Checksum of every file below `directory` except the manifest, keyed by relative path."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)
    return {p.relative_to(directory).as_posix(): file_checksum(p) for p in files}


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
    checksums: dict[str, str] = field(default_factory=dict)
    """"sha256:<hex>" of every store file (relative path → checksum); empty in stores written
    before checksums existed, which the FAISS backend refuses to serve (see `verify_files`)."""

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
            manifest = cls(**data)
        except TypeError as exc:
            raise StoreCorruptError(f"store manifest {path} has unexpected fields ({exc}); re-run `tagungsbot ingest`") from exc
        if not isinstance(manifest.checksums, dict) or not all(isinstance(v, str) for v in manifest.checksums.values()):
            raise StoreCorruptError(f"store manifest {path} has malformed checksums; re-run `tagungsbot ingest`")
        return manifest

    def verify_files(self, directory: Path, require: bool = True) -> None:
        """Check every store file against its recorded checksum; name the first damaged one.

        A store without checksums (written by an older tagungsbot) is refused when `require`
        is set: nothing would tell a damaged file from a good one. Ingest passes
        `require=False` to re-use such a store's vectors while it writes a checked version.
        """
        if not self.checksums:
            if require:
                raise StoreCorruptError(
                    f"store version {self.version} has no file checksums (it was written by an older "
                    f"tagungsbot), so its files cannot be verified; re-run `tagungsbot ingest` to write a "
                    f"checked version (vectors are re-used, nothing is embedded again)"
                )
            return
        for name, expected in sorted(self.checksums.items()):
            path = directory / name
            try:
                found = file_checksum(path)
            except FileNotFoundError:
                raise StoreCorruptError(
                    f"store file {name} in {directory} is missing; re-run `tagungsbot ingest` to rebuild the store"
                ) from None
            except OSError as exc:
                raise StoreCorruptError(
                    f"store file {name} in {directory} cannot be read ({exc.strerror or exc}); "
                    f"re-run `tagungsbot ingest` to rebuild the store"
                ) from exc
            if found != expected:
                raise StoreCorruptError(
                    f"store file {name} in {directory} is damaged or truncated (its checksum does not match "
                    f"the manifest); re-run `tagungsbot ingest` to rebuild the store"
                )

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
