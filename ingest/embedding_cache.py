"""Embedding at ingest in resumable blocks, with progress and bounded memory.

A big corpus takes hours to embed on two cores; a crash, a reboot or Ctrl-C must not
throw that work away. `BlockEmbedder` embeds the texts in blocks of a few thousand and
saves each finished block under the index folder's tmp area:

    INDEX_DIR/tmp/embedding-cache/<sha256 of model, backend and the block's text keys>.npy

The next ingest of the same corpus finds the finished blocks and embeds only the rest.
The cache is removed once a store version has been committed. Vectors are read back
memory-mapped and gathered into memory-mapped arrays (`gather`), so the vectors of a
large corpus live in files, not in RAM.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from vectorstore.embedding import Embedder
from vectorstore.settings import Settings

_BLOCK_NAME = re.compile(r"^[0-9a-f]{32}\.npy$")
"""Finished blocks; everything else in the cache folder is scratch (see `clear_scratch`)."""

BLOCK_TEXTS = 4096
PROGRESS_BATCHES = 4  # with a progress listener, it hears after every 4 batches of a block
"""Texts per saved block: a few minutes of work on two cores, so little is lost on a crash."""


def embedding_cache_dir(index_dir: Path) -> Path:
    """Where finished blocks of an unfinished ingest wait (inside the index folder)."""
    return Path(index_dir) / "tmp" / "embedding-cache"


class BlockEmbedder:
    """Embeds passages block by block; finished blocks survive an interrupted run."""

    def __init__(
        self, embedder: Embedder, folder: Path, batch_size: int = Settings.batch_size, progress: bool = False,
        block_texts: int = BLOCK_TEXTS, on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.folder = Path(folder)
        self.batch_size = batch_size
        self.progress = progress
        self.block_texts = max(1, block_texts)
        self.on_progress = on_progress  # told (texts done, texts in all) while embedding
        self.resumed = 0  # texts whose vectors came from a block of an earlier, interrupted run

    def _block_path(self, keys: Sequence[str]) -> Path:
        digest = hashlib.sha256(f"{self.embedder.name}\0{self.embedder.backend}\0".encode())
        for key in keys:
            digest.update(key.encode("utf-8") + b"\0")
        return self.folder / f"{digest.hexdigest()[:32]}.npy"

    def run(self, keys: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts` (one per key, same order) as a read-only memory-mapped array."""
        if len(keys) != len(texts):
            raise ValueError("every text needs exactly one key")
        dim = self.embedder.dimension
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        self.folder.mkdir(parents=True, exist_ok=True)
        bar = _progress_bar(len(texts)) if self.progress else None
        parts: list[np.ndarray] = []
        for begin in range(0, len(texts), self.block_texts):
            block_keys = keys[begin : begin + self.block_texts]
            path = self._block_path(block_keys)
            vectors = _load_block(path, len(block_keys), dim)
            if vectors is None:
                fresh = self._encode(list(texts[begin : begin + self.block_texts]), begin, len(texts))
                _save_atomically(path, fresh)
                vectors = np.load(path, mmap_mode="r")
            else:
                self.resumed += len(block_keys)
            parts.append(vectors)
            if self.on_progress is not None:
                self.on_progress(begin + len(block_keys), len(texts))
            if bar is not None:
                bar.update(len(block_keys))
        if bar is not None:
            bar.close()
        return parts[0] if len(parts) == 1 else gather_rows(parts, self.folder / "fresh.npy")

    def _encode(self, texts: list[str], offset: int, total: int) -> np.ndarray:
        """Embed one block; with a progress listener in steps of a few batches, telling it after each."""
        if self.on_progress is None:
            return self.embedder.encode_passages(texts, batch_size=self.batch_size)
        step = self.batch_size * PROGRESS_BATCHES
        pieces = []
        for start in range(0, len(texts), step):
            pieces.append(self.embedder.encode_passages(texts[start : start + step], batch_size=self.batch_size))
            self.on_progress(offset + min(start + step, len(texts)), total)
        return np.concatenate(pieces).astype(np.float32, copy=False)

    def drop(self) -> None:
        """Remove the cache once its vectors are committed into a store version."""
        shutil.rmtree(self.folder, ignore_errors=True)


def clear_scratch(folder: Path) -> None:
    """Remove everything but finished blocks from a cache folder: half-saved blocks
    (`*.partial.npy`) and the gathered vector files of a run that failed (disk full) or was
    killed. Finished blocks stay, so the next run resumes from them."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if _BLOCK_NAME.match(path.name):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="text", desc="embedding", smoothing=0.1)


def _load_block(path: Path, rows: int, dim: int) -> np.ndarray | None:
    """A finished block, or None if it is missing or does not have the expected shape."""
    if not path.exists():
        return None
    try:
        vectors = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return vectors if vectors.shape == (rows, dim) and vectors.dtype == np.float32 else None


def _save_atomically(path: Path, vectors: np.ndarray) -> None:
    """Write a block under a temporary name and rename it; a failed write leaves no file."""
    tmp = path.with_name(path.stem + ".partial.npy")
    try:
        np.save(tmp, np.ascontiguousarray(vectors, dtype=np.float32))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _open_reserved(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """`open_memmap` with the file's disk blocks reserved up front.

    Writing into a memory map whose sparse file cannot get blocks (disk full) kills the
    process with SIGBUS, with no message; reserving them first turns a full disk into an
    ordinary OSError (ENOSPC), which ingest reports with what to do.
    """
    try:
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
        with open(path, "r+b") as fh:
            os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
    except BaseException:
        path.unlink(missing_ok=True)  # a sparse file without its blocks is of no use to anyone
        raise
    return out


def gather_rows(parts: Sequence[np.ndarray], path: Path) -> np.ndarray:
    """Concatenate row blocks into one memory-mapped float32 file at `path`."""
    rows = sum(len(p) for p in parts)
    out = _open_reserved(path, (rows, parts[0].shape[1]))
    at = 0
    for part in parts:
        out[at : at + len(part)] = part
        at += len(part)
    out.flush()
    return out


def gather(keys: Sequence[str], known: Mapping[str, np.ndarray], dim: int, path: Path) -> np.ndarray:
    """Vectors of `keys` in order, written into a memory-mapped float32 file at `path`."""
    if not keys:
        return np.zeros((0, dim), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = _open_reserved(path, (len(keys), dim))
    step = 8192
    for begin in range(0, len(keys), step):
        out[begin : begin + step] = np.stack([known[k] for k in keys[begin : begin + step]])
    out.flush()
    return out
