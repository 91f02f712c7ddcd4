"""How search cost grows: 10k and 100k chunks of real German text, 1M synthetic vectors.

For each size: the FAISS index that `choose_index_type` picks (and the alternatives that
were considered), its build time, index size and resident memory after a memory-mapped
load, search latency per query (one thread, as in a service worker) and recall@10 against
exact (flat) search of the same vectors.

Data:
* 10k / 100k: chunks (≤ 300 characters) of one to four sentences of the 240 German XQuAD passages,
  varied (different windows, sentence pairs from two passages of one article), embedded
  for real with the product model as passages. Embedding 100k texts takes a while on two
  cores; the vectors are cached in bench/_work/perf/ by a hash of texts and model.
* 1M: synthetic vectors made from the real ones: normalise(v_i + 0.5·v_j + noise), so the
  neighbourhood structure resembles real embeddings (uniform random vectors do not).
* Queries: the XQuAD questions (German and English), embedded with the query prompt.

    python -m bench.perf.scale                        # 10k, 100k, 1M (1M: several minutes)
    python -m bench.perf.scale --sizes 2000 --queries 50 --out /tmp/x   # smoke size
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf.common import (
    RESULTS, WORK, XQUAD, load_embedder, machine_facts, percentiles, read_jsonl, vm_rss_mb, write_result,
)
from vectorstore.settings import Settings, load_settings

ALTERNATIVES = ["Flat", "HNSW32,SQ8", "IVF2048,SQ8"]
"""Index types measured next to the chosen one above the exact-search limit (--alternatives,
';'-separated). HNSW is left out above 200k vectors (its build takes too long on 2 cores) and
an IVF whose lists would get fewer than 39 training points each is left out."""


def worth_measuring(index_type: str, size: int) -> bool:
    if index_type.startswith("HNSW"):
        return size <= 200_000
    if index_type.startswith("IVF"):
        return 39 * int(index_type[3:].split(",", 1)[0]) <= size
    return True


# --------------------------------------------------------------------------- data


def german_chunks(count: int, seed: int = 0, max_chars: int = 300) -> list[str]:
    """`count` distinct German chunk texts of at most `max_chars` cut from the XQuAD passages.

    Chunks are shorter than the product's 600 characters so that embedding 100k of them
    takes minutes, not an hour, on two cores; for search cost only the vectors matter.
    """
    from vectorstore.text.sentences import split_sentences

    passages = read_jsonl(XQUAD / "passages.de.jsonl")
    sentences = [[p["text"][s:e] for s, e in split_sentences(p["text"])] for p in passages]
    by_title: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_title.setdefault(p["title"], []).append(i)
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    # every window of 1..4 consecutive sentences first, then cross-passage pairs
    for sents in sentences:
        for width in (1, 2, 3, 4):
            for start in range(0, max(len(sents) - width + 1, 0)):
                text = " ".join(sents[start : start + width])
                if text not in seen and len(text) <= max_chars:
                    seen.add(text)
                    out.append(text)
    rng.shuffle(out)
    titles = list(by_title)
    attempts = 0
    while len(out) < count and attempts < count * 20:
        attempts += 1
        group = by_title[rng.choice(titles)] if rng.random() < 0.7 else range(len(passages))
        a, b = rng.choice(group), rng.choice(group)
        if not sentences[a] or not sentences[b]:
            continue
        sa = rng.randrange(len(sentences[a]))
        sb = rng.randrange(len(sentences[b]))
        text = " ".join(sentences[a][sa : sa + rng.choice((1, 1, 2))] + sentences[b][sb : sb + rng.choice((1, 1, 2))])
        if text not in seen and len(text) <= max_chars:
            seen.add(text)
            out.append(text)
    if len(out) < count:
        raise RuntimeError(f"only {len(out)} distinct chunks could be made from XQuAD; ask for fewer")
    return out[:count]


def embedded(texts: list[str], kind: str, settings: Settings, backend: str, cache_dir: Path = WORK,
             block: int = 5000) -> np.ndarray:
    """Vectors of `texts` ("passage" or "query"), embedded in blocks that are cached on disk
    (by a hash of texts, kind, backend and model), so an interrupted run resumes."""
    model = settings.embedding_model
    parts = []
    embedder = None
    for begin in range(0, len(texts), block):
        part = texts[begin : begin + block]
        digest = hashlib.sha256(f"{kind}\0{backend}\0{model}\0".encode())
        for t in part:
            digest.update(t.encode("utf-8") + b"\0")
        path = cache_dir / f"vectors-{kind}-{digest.hexdigest()[:16]}.npy"
        if not path.exists():
            embedder = embedder or load_embedder(settings, backend)
            print(f"embedding {kind}s {begin}–{begin + len(part)} of {len(texts)}", flush=True)
            if kind == "query":
                vectors = embedder.encode_queries(part, batch_size=64)
            else:
                vectors = embedder.encode_passages(part, batch_size=32, progress=len(part) > 1000)
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.save(path.with_suffix(".tmp.npy"), vectors)
            os.replace(path.with_suffix(".tmp.npy"), path)
        parts.append(np.load(path))
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def synthetic(base: np.ndarray, count: int, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """`count` vectors near mixtures of the real `base` vectors, L2-normalised, float32."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, base.shape[1]), dtype=np.float32)
    step = 100_000
    for begin in range(0, count, step):
        n = min(step, count - begin)
        i = rng.integers(0, len(base), n)
        j = rng.integers(0, len(base), n)
        block = base[i] + 0.5 * base[j] + rng.normal(0, noise, (n, base.shape[1])).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[begin : begin + n] = block
    return out


# --------------------------------------------------------------------------- measuring


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the true top-k by inner product (flat search, all threads)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index.search(queries, k)[1]


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the true top-k that the index returned in its top-k."""
    hits = [len(set(f[f >= 0].tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth)]
    return round(float(np.mean(hits)), 4)


def measure_index(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, index_type: str,
                  search_params: list[dict[str, int]], k: int = 10, repeats: int = 3) -> dict[str, Any]:
    """Build, save, mmap-load and search one index type; one row per search setting."""
    import faiss

    from vectorstore.faiss_store import _read_index, apply_search_params, build_faiss_index, search_index

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    began = time.perf_counter()
    index = build_faiss_index(vectors, index_type)
    build_s = time.perf_counter() - began
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        path = Path(tmp) / "index.faiss"
        faiss.write_index(index, str(path))
        size_mb = path.stat().st_size / 2**20
        del index
        gc.collect()
        rss_before = vm_rss_mb()
        loaded = _read_index(path)
        rss_after = vm_rss_mb()
        faiss.omp_set_num_threads(1)
        rows = []
        for params in search_params:
            apply_search_params(loaded, params)
            refine = int(params.get("refine", 1))
            runs = []
            found = np.full((len(queries), k), -1, dtype=np.int64)
            for _ in range(repeats):
                lat = []
                for i, q in enumerate(queries):
                    t = time.perf_counter()
                    hit_rows, _ = search_index(loaded, vectors, q, k, refine)
                    lat.append((time.perf_counter() - t) * 1000)
                    found[i, : len(hit_rows)] = hit_rows
                runs.append(percentiles(lat))
            rows.append({
                "params": params, "recall_at_10": recall_at(found, truth),
                "search_ms": {key: round(float(np.median([r[key] for r in runs])), 3) for key in ("p50", "p95", "p99", "mean")},
            })
        del loaded
        gc.collect()
    return {
        "index_type": index_type, "build_s": round(build_s, 2), "index_file_mb": round(size_mb, 1),
        "rss_after_load_mb": round(rss_after - rss_before, 1), "settings": rows,
    }


def params_for(index_type: str) -> list[dict[str, int]]:
    """Search settings measured per index type; "refine" re-scores 4·k candidates exactly."""
    if index_type.startswith("HNSW"):
        return [{"efSearch": 64}] + [{"efSearch": ef, "refine": 4} for ef in (32, 64, 128)]
    if index_type.startswith("IVF"):
        return [{"nprobe": 32}] + [{"nprobe": n, "refine": 4} for n in (16, 32, 64, 128)]
    return [{}]


def run_size(size: int, real: np.ndarray | None, base: np.ndarray, queries: np.ndarray,
             alternatives: list[str], repeats: int) -> dict[str, Any]:
    from vectorstore.faiss_store import choose_index_type, default_search_params

    vectors = real if real is not None else synthetic(base, size)
    began = time.perf_counter()
    truth = exact_neighbours(vectors, queries, 10)
    exact_s = time.perf_counter() - began
    chosen = choose_index_type(size)
    types = [chosen] + [t for t in alternatives if t != chosen and worth_measuring(t, size)]
    results = []
    for index_type in types:
        params = params_for(index_type)
        default = default_search_params(index_type)
        if default and default not in params:
            params.append(default)
        results.append(measure_index(vectors, queries, truth, index_type, params, repeats=repeats))
    return {
        "chunks": size, "data": "real German XQuAD chunks" if real is not None else "synthetic (mixtures of real vectors)",
        "chosen_index_type": chosen, "chosen_search_params": default_search_params(chosen),
        "vector_mb": round(vectors.nbytes / 2**20, 1), "exact_search_all_queries_s": round(exact_s, 2),
        "indexes": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated chunk counts")
    parser.add_argument("--real-limit", type=int, default=100_000,
                        help="real German chunks embedded; larger sizes are synthetic mixtures of them")
    parser.add_argument("--queries", type=int, default=500, help="number of XQuAD questions used as queries")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the queries per setting")
    parser.add_argument("--backend", default="onnx-int8", help="embedding backend for the benchmark data")
    parser.add_argument("--alternatives", default=";".join(ALTERNATIVES),
                        help="index types measured next to the chosen one at sizes above the exact limit")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for perf_scale.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    questions = [q["question"] for lang in ("de", "en") for q in read_jsonl(XQUAD / f"questions.{lang}.jsonl")]
    random.Random(1).shuffle(questions)
    settings = load_settings()
    queries = embedded(questions[: args.queries], "query", settings, args.backend)
    real = embedded(german_chunks(args.real_limit), "passage", settings, args.backend)
    from vectorstore.faiss_store import EXACT_SEARCH_LIMIT

    rows = []
    for size in sizes:
        is_real = size <= args.real_limit
        alternatives = [t for t in args.alternatives.split(";") if t] if size > EXACT_SEARCH_LIMIT else []
        print(f"scale: {size} chunks ...", flush=True)
        rows.append(run_size(size, real[:size] if is_real else None, real, queries, alternatives, args.repeats))
    payload = {
        "benchmark": "scale", "machine": machine_facts(), "embedding_backend": args.backend,
        "queries": int(len(queries)), "repeats": args.repeats, "sizes": rows,
        "note": "search latency: one query at a time, one FAISS thread (as in a service worker); "
                "medians over repeats; recall@10 against exact flat search of the same vectors",
    }
    path = write_result("perf_scale", payload, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
