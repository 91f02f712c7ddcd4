"""The embedded default backend: a FAISS index plus chunk records on local disk.

Files of one version (see `layout` for how versions are switched):

    manifest.json          what built it, and the sha256 of every other file (written last)
    index.faiss            FAISS index over chunk vectors (inner product = cosine)
    vectors.npy            float32 chunk vectors: re-used by the next ingest, read memory-mapped
    chunks.jsonl           one `Chunk` per line, row i = vector i
    documents.jsonl        cleaned documents (citations point into their text)
    sentences.npy          int64 rows (chunk_row, start, end) of every sentence
    sentence_vectors.npy   float32 sentence vectors for answer selection
    keyword/               BM25 index, row i = chunk i
"""

from __future__ import annotations

import dataclasses
import json
import mmap
import operator
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
import shutil
from pathlib import Path
from typing import Iterable, overload

import faiss
import numpy as np

from vectorstore.errors import StoreCorruptError
from vectorstore.keyword import KeywordIndex
from vectorstore.layout import commit_version, current_dir, start_version, write_failure
from vectorstore.manifest import Manifest, folder_checksums
from vectorstore.records import Chunk, Document, StoreContent  # StoreContent: re-exported for writers

EXACT_SEARCH_LIMIT = 50_000
"""Up to this many chunks the index is exact (flat: ~0.25 ms per query at 10k, ~5.4 ms at 100k
on one core); above it, an inverted file over 8-bit codes (IVF,SQ8). Measured in
bench/perf/scale.py (docs/performance.md): HNSW32,SQ8 searched faster but reached only
recall@10 0.86–0.91 on real chunks at 100k, and cannot be memory-mapped, so several uvicorn
workers would each hold a private copy."""

IVF_NPROBE_SHARE = 1 / 64
IVF_NPROBE_MIN = 32
"""Inverted lists searched per query: nlist × share, at least IVF_NPROBE_MIN; chosen for
recall@10 ≥ 0.95 against exact search at 60k and 1M vectors (bench/perf/scale.py)."""

IVF_TRAIN_ITERATIONS = 10
"""k-means iterations when training the coarse quantizer (faiss' default 25 costs minutes at 1M)."""

REFINE_FACTOR = 4
"""An approximate index returns REFINE_FACTOR × k candidates, re-scored exactly with the float
vectors (memory-mapped vectors.npy): 8-bit codes order near-duplicate chunks slightly wrongly;
re-scoring adds ~1.5–2 points of recall@10 at the same nprobe (0.922 → 0.938 at 1M, nprobe 32)."""


def _ivf_lists(count: int) -> int:
    """Number of inverted lists: the power of two nearest to 4·√count, at least 64."""
    target = 4 * max(count, 1) ** 0.5
    lists = 64
    while lists * 1.5 <= target:  # 1.5: nearest in log scale is √2, close enough and simpler
        lists *= 2
    return lists


def choose_index_type(count: int) -> str:
    """FAISS factory string for a store of `count` vectors."""
    return "Flat" if count <= EXACT_SEARCH_LIMIT else f"IVF{_ivf_lists(count)},SQ8"


def default_search_params(index_type: str) -> dict[str, int]:
    """Search-time parameters for an index of `index_type` (recorded in the manifest)."""
    if index_type.startswith("IVF"):
        lists = int(index_type[3:].split(",", 1)[0].split("_", 1)[0])
        nprobe = min(lists, max(IVF_NPROBE_MIN, int(round(lists * IVF_NPROBE_SHARE))))
        return {"nprobe": nprobe, "refine": REFINE_FACTOR}
    if index_type.startswith("HNSW"):
        return {"efSearch": 64, "refine": REFINE_FACTOR}
    return {}


def apply_search_params(index: faiss.Index, params: dict[str, int]) -> None:
    """Set nprobe / efSearch on a loaded index ("refine" is ours, see `search_index`)."""
    space = faiss.ParameterSpace()
    for name, value in params.items():
        if name != "refine":
            space.set_index_parameter(index, name, value)


def search_index(
    index: faiss.Index, vectors: np.ndarray | None, query: np.ndarray, k: int, refine: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and scores of the `k` best vectors for one query; with `refine` > 1 (approximate
    indexes), `refine`·k candidates are re-scored exactly against `vectors`."""
    q = np.asarray(query, dtype=np.float32).reshape(1, -1)
    if refine <= 1 or vectors is None:
        scores, rows = index.search(q, k)
        keep = rows[0] >= 0
        return rows[0][keep].astype(np.int64), scores[0][keep]
    _, rows = index.search(q, min(k * refine, index.ntotal))
    rows = rows[0][rows[0] >= 0].astype(np.int64)
    order = np.argsort(rows)  # ascending rows read the memory-mapped file front to back
    exact = np.empty(len(rows), dtype=np.float32)
    exact[order] = np.asarray(vectors[rows[order]], dtype=np.float32) @ q[0]
    best = np.argsort(-exact, kind="stable")[:k]
    return rows[best], exact[best]


def build_faiss_index(vectors: np.ndarray, index_type: str) -> faiss.Index:
    """Build an inner-product index of the given factory type over normalised vectors."""
    dim = int(vectors.shape[1])
    index = faiss.index_factory(dim, index_type, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        ivf = faiss.try_extract_index_ivf(index)
        limit = 100_000
        if ivf is not None:
            ivf.cp.niter = IVF_TRAIN_ITERATIONS
            limit = max(limit, 40 * ivf.nlist)
            ivf.cp.max_points_per_centroid = max(40, limit // ivf.nlist)
        sample = vectors if len(vectors) <= limit else vectors[np.sort(np.random.default_rng(0).choice(len(vectors), limit, replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    step = 50_000
    for begin in range(0, len(vectors), step):
        index.add(np.ascontiguousarray(vectors[begin : begin + step], dtype=np.float32))
    return index


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _line_spans(data: "mmap.mmap | bytes") -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the non-empty lines of `data`, found block by block."""
    buf = np.frombuffer(data, dtype=np.uint8) if len(data) else np.zeros(0, dtype=np.uint8)
    step = 1 << 26
    newlines = [np.flatnonzero(buf[i : i + step] == 10) + i for i in range(0, len(buf), step)]
    ends = np.concatenate(newlines).astype(np.int64) if newlines else np.zeros(0, dtype=np.int64)
    if len(buf) and buf[-1] != 10:
        ends = np.append(ends, len(buf))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if len(ends) else ends
    keep = ends - starts > 0
    for i in np.flatnonzero(keep & (ends - starts < 3)):  # "\r" or blank leftovers are no records
        keep[i] = bool(bytes(data[starts[i] : ends[i]]).strip())
    return starts[keep], ends[keep]


class ChunkTable(Sequence[Chunk]):
    """The chunks of chunks.jsonl, parsed on demand (row i = line i).

    Only the line offsets (16 bytes per chunk) and a small cache of parsed chunks stay in
    memory; the file itself is memory-mapped. A store of a million chunks so loads in
    bounded memory (a list of `Chunk` objects would take ~1.5 GB per worker).
    """

    CACHE_SIZE = 4096

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._starts, self._ends = _line_spans(self._data)
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()
        self._doc_ids: frozenset[str] | None = None
        self._spans: tuple[list[str], np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._starts)

    def _parse(self, row: int) -> Chunk:
        return Chunk.from_json(json.loads(self._data[self._starts[row] : self._ends[row]]))

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = operator.index(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {row} out of range (store has {len(self)} chunks)")
        with self._lock:
            hit = self._cache.get(row)
            if hit is not None:
                self._cache.move_to_end(row)
                return hit
        chunk = self._parse(row)
        with self._lock:
            self._cache[row] = chunk
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        for row in range(len(self)):
            yield self._parse(row)

    def doc_ids(self) -> frozenset[str]:
        """Documents the chunks belong to; parses every line once, so a damaged line fails here."""
        if self._doc_ids is None:
            self._doc_ids = frozenset(self.spans()[0])
        return self._doc_ids

    def spans(self) -> tuple[list[str], np.ndarray]:
        """Document id and (start, end) of every chunk, from one parse of every line."""
        if self._spans is None:
            ids: list[str] = []
            bounds = np.zeros((len(self), 2), dtype=np.int64)
            for row, chunk in enumerate(self):
                ids.append(chunk.doc_id)
                bounds[row] = (chunk.start, chunk.end)
            self._spans = (ids, bounds)
        return self._spans


def write_store(index_dir: Path, content: StoreContent, manifest: Manifest) -> Path:
    """Write `content` as a new version and switch to it atomically; return its folder."""
    if len(content.chunks) != len(content.vectors):
        raise ValueError("every chunk needs exactly one vector")
    tmp: Path | None = None
    manifest = with_index_params(manifest)
    try:
        tmp = start_version(index_dir)
        _write_jsonl(tmp / "documents.jsonl", (d.to_json() for d in content.documents))
        _write_jsonl(tmp / "chunks.jsonl", (c.to_json() for c in content.chunks))
        np.save(tmp / "vectors.npy", np.ascontiguousarray(content.vectors, dtype=np.float32))
        np.save(tmp / "sentences.npy", np.ascontiguousarray(content.sentences, dtype=np.int64).reshape(-1, 3))
        np.save(tmp / "sentence_vectors.npy", np.ascontiguousarray(content.sentence_vectors, dtype=np.float32))
        faiss.write_index(build_faiss_index(content.vectors, manifest.index_type), str(tmp / "index.faiss"))
        KeywordIndex.build([c.embedding_text() for c in content.chunks]).save(tmp / "keyword")
        manifest = dataclasses.replace(manifest, checksums=folder_checksums(tmp))
        manifest.write(tmp)
        return commit_version(index_dir, tmp, manifest.version)
    except (OSError, RuntimeError) as exc:  # disk full, file size limit, permissions; FAISS raises RuntimeError
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)  # a half-written version is never served; free its space now
        raise write_failure(exc, index_dir) from exc


def with_index_params(manifest: Manifest) -> Manifest:
    """The manifest with the index's search parameters recorded in `extra["faiss_search_params"]`
    (kept if ingest already set them), so a store is searched as it was measured."""
    if "faiss_search_params" in manifest.extra:
        return manifest
    extra = {**manifest.extra, "faiss_search_params": default_search_params(manifest.index_type)}
    return dataclasses.replace(manifest, extra=extra)


def _read_index(path: Path) -> faiss.Index:
    """Memory-map the index where FAISS can (flat codes, inverted lists), so that several
    worker processes share one copy in the page cache instead of each reading it whole."""
    # Flat codes map only with MMAP_IFC; inverted lists refuse MMAP_IFC and map with plain MMAP.
    mmap_flat = faiss.IO_FLAG_MMAP | getattr(faiss, "IO_FLAG_MMAP_IFC", 0) | faiss.IO_FLAG_READ_ONLY
    for flags in (mmap_flat, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY):
        try:
            return faiss.read_index(str(path), flags)
        except RuntimeError:
            continue
    return faiss.read_index(str(path))


class FaissStore:
    """A loaded, read-only store version; safe to share between request threads."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        documents: dict[str, Document],
        chunks: Sequence[Chunk],
        index: faiss.Index,
        keyword: KeywordIndex,
        vectors: np.ndarray,
        sentences: np.ndarray,
        sentence_vectors: np.ndarray,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.documents = documents
        self.chunks = chunks
        self.index = index
        self.keyword = keyword
        self.vectors = vectors
        self.sentences = sentences
        self.sentence_vectors = sentence_vectors
        params = manifest.extra.get("faiss_search_params") or default_search_params(manifest.index_type)
        self._refine = int(params.get("refine", 1))
        self._sentence_rows_by_chunk = _group_rows(sentences, len(chunks))

    @classmethod
    def load(cls, index_dir: Path, require_checksums: bool = True) -> "FaissStore":
        """Load the served version of `index_dir`; raise a store error that says how to fix it."""
        path = current_dir(index_dir)
        return cls.load_version(path, require_checksums)

    @classmethod
    def load_version(cls, path: Path, require_checksums: bool = True) -> "FaissStore":
        """Load one version folder after verifying every file against the manifest's checksums
        (memory-mapped files are checked once, here) and the shapes and ranges of its arrays."""
        manifest = Manifest.read(path)
        manifest.verify_files(path, require=require_checksums)  # before FAISS parses index.faiss
        reading = "documents.jsonl"
        try:
            documents = {d.doc_id: d for d in map(Document.from_json, _read_jsonl(path / reading))}
            reading = "chunks.jsonl"
            chunks = ChunkTable(path / reading)
            chunks.doc_ids()  # reads every line now: a damaged file is refused at load, not mid-request
            reading = "vectors.npy"
            vectors = np.load(path / reading, mmap_mode="r")
            reading = "sentences.npy"
            sentences = np.load(path / reading)
            reading = "sentence_vectors.npy"
            sentence_vectors = np.load(path / reading, mmap_mode="r")
            reading = "index.faiss"
            index = _read_index(path / reading)
            apply_search_params(index, manifest.extra.get("faiss_search_params") or default_search_params(manifest.index_type))
            reading = "keyword/"
            keyword = KeywordIndex.load(path / "keyword", len(chunks))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
            detail = str(exc).splitlines()[0][:300] if str(exc) else ""
            raise StoreCorruptError(
                f"store file {reading} in {path} is damaged or truncated ({type(exc).__name__}: {detail}); "
                f"re-run `tagungsbot ingest` to rebuild the store"
            ) from exc
        _check_consistent(path, manifest, chunks, index, vectors, sentences, sentence_vectors, documents)
        return cls(path, manifest, documents, chunks, index, keyword, vectors, sentences, sentence_vectors)

    def search(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and cosine scores of the `k` nearest chunks, best first."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return search_index(self.index, self.vectors, query_vector, k, self._refine)

    def sentence_rows(self, chunk_row: int) -> range:
        """Rows into `sentences` for the sentences of one chunk."""
        start, end = self._sentence_rows_by_chunk[chunk_row]
        return range(start, end)


def _group_rows(sentences: np.ndarray, chunk_count: int) -> np.ndarray:
    """(start, end) sentence-row ranges per chunk; sentences are stored sorted by chunk row."""
    bounds = np.zeros((chunk_count, 2), dtype=np.int64)
    if len(sentences) == 0:
        return bounds
    chunk_rows = sentences[:, 0]
    starts = np.searchsorted(chunk_rows, np.arange(chunk_count), side="left")
    ends = np.searchsorted(chunk_rows, np.arange(chunk_count), side="right")
    bounds[:, 0], bounds[:, 1] = starts, ends
    return bounds


NORM_TOLERANCE = 0.02
"""Stored vectors are L2-normalised; a row whose norm is further than this from 1 (zeroed,
overwritten, NaN) marks a damaged store. Checked at load in blocks (~0.1 s per 100k vectors)."""


def _bad_vector_row(vectors: np.ndarray, step: int = 65_536) -> tuple[int, float] | None:
    """First row of `vectors` that is not a unit vector, with its norm; None if all are."""
    for begin in range(0, len(vectors), step):
        block = np.asarray(vectors[begin : begin + step], dtype=np.float32)
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        bad = np.flatnonzero(~(np.abs(norms - 1.0) <= NORM_TOLERANCE))  # NaN counts as bad
        if len(bad):
            return begin + int(bad[0]), float(norms[bad[0]])
    return None


def _sentence_problems(sentences: np.ndarray, chunks: Sequence[Chunk], documents: dict[str, Document]) -> list[str]:
    """Rows of sentences.npy that would make a request fail later: out-of-range chunk rows,
    unsorted rows, or offsets outside their chunk; and chunks reaching past their document."""
    if sentences.ndim != 2 or sentences.shape[1] != 3 or not np.issubdtype(sentences.dtype, np.integer):
        return [f"sentences.npy has shape {sentences.shape} and type {sentences.dtype}, expected (n, 3) integers"]
    if isinstance(chunks, ChunkTable):
        ids, bounds = chunks.spans()
    else:
        ids = [c.doc_id for c in chunks]
        bounds = np.asarray([(c.start, c.end) for c in chunks], dtype=np.int64).reshape(-1, 2)
    problems: list[str] = []
    lengths = np.asarray([len(documents[i].text) if i in documents else 0 for i in ids], dtype=np.int64)
    past = np.flatnonzero((bounds[:, 0] < 0) | (bounds[:, 0] > bounds[:, 1]) | (bounds[:, 1] > lengths)) if len(ids) else []
    if len(past):
        problems.append(f"chunk row {int(past[0])} has offsets outside its document ({len(past)} such chunks)")
    if len(sentences) == 0:
        return problems
    rows = sentences[:, 0]
    outside = np.flatnonzero((rows < 0) | (rows >= len(ids)))
    if len(outside):
        r = int(outside[0])
        problems.append(
            f"sentences.npy row {r} refers to chunk row {int(rows[r])}, but there are {len(ids)} chunks "
            f"({len(outside)} such rows)"
        )
        return problems
    if np.any(np.diff(rows) < 0):
        problems.append("sentences.npy is not sorted by chunk row")
    starts, ends = sentences[:, 1], sentences[:, 2]
    wrong = np.flatnonzero((starts > ends) | (starts < bounds[rows, 0]) | (ends > bounds[rows, 1]))
    if len(wrong):
        problems.append(f"sentences.npy row {int(wrong[0])} has offsets outside its chunk ({len(wrong)} such rows)")
    return problems


def _check_consistent(
    path: Path,
    manifest: Manifest,
    chunks: Sequence[Chunk],
    index: faiss.Index,
    vectors: np.ndarray,
    sentences: np.ndarray,
    sentence_vectors: np.ndarray,
    documents: dict[str, Document],
) -> None:
    problems: list[str] = []
    if manifest.chunk_count != len(chunks):
        problems.append(f"manifest says {manifest.chunk_count} chunks, chunks.jsonl has {len(chunks)}")
    if index.ntotal != len(chunks):
        problems.append(f"index.faiss holds {index.ntotal} vectors for {len(chunks)} chunks")
    if vectors.shape != (len(chunks), manifest.dimension) or vectors.dtype != np.float32:
        problems.append(f"vectors.npy has shape {vectors.shape} ({vectors.dtype}), expected ({len(chunks)}, {manifest.dimension}) float32")
    if index.d != manifest.dimension:
        problems.append(f"index.faiss is {index.d}-d, manifest says {manifest.dimension}-d")
    if sentence_vectors.ndim != 2 or sentence_vectors.shape[1:] != (manifest.dimension,) or sentence_vectors.dtype != np.float32:
        problems.append(f"sentence_vectors.npy has shape {sentence_vectors.shape} ({sentence_vectors.dtype}), expected (n, {manifest.dimension}) float32")
    if len(sentences) != len(sentence_vectors):
        problems.append("sentences.npy and sentence_vectors.npy differ in length")
    missing = set(chunks.doc_ids() if isinstance(chunks, ChunkTable) else {c.doc_id for c in chunks}) - set(documents)
    if missing:
        problems.append(f"chunks refer to unknown documents {sorted(missing)[:3]}")
    else:
        problems.extend(_sentence_problems(sentences, chunks, documents))
    if not problems:
        for name, table in (("vectors.npy", vectors), ("sentence_vectors.npy", sentence_vectors)):
            bad = _bad_vector_row(table)
            if bad is not None:
                problems.append(f"{name} row {bad[0]} has norm {bad[1]:.3g}, not 1 (zeroed or overwritten vectors)")
    if problems:
        raise StoreCorruptError(
            f"store in {path} is inconsistent: {'; '.join(problems)}; re-run `tagungsbot ingest` to rebuild it"
        )
