"""Ingest throughput next to the raw encode throughput of the model on the same texts.

Corpus: the German XQuAD passages, one .txt file each (written to bench/_work/perf/), plus
the conference report. Per run:

1. ingest into a fresh index folder with the real `Ingestor` (model already loaded, so model
   loading is not counted): texts embedded per second of the whole run, which includes
   loading, cleaning, chunking, sentence splitting, embedding, writing FAISS/BM25 and commit;
2. raw: `Embedder.encode_passages` on exactly the texts that ingest embedded (chunks and
   sentences, read back from the store), same backend and batch size.

The target is ingest ≤ 1.3 × slower than raw (ratio raw/ingest ≤ 1.3).

    python -m bench.perf.ingest_throughput                  # 3 runs, all 240 passages
    python -m bench.perf.ingest_throughput --docs 5 --runs 1 --out /tmp/x
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from bench.perf.common import REPO, RESULTS, WORK, XQUAD, load_embedder, machine_facts, merge_runs, read_jsonl, write_result
from vectorstore.settings import load_settings


def make_corpus(target: Path, docs: int) -> Path:
    """A corpus folder with the first `docs` XQuAD passages as .txt files and the conference report."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for row in read_jsonl(XQUAD / "passages.de.jsonl")[:docs]:
        (target / f"{row['id']}.txt").write_text(f"{row['title'].replace('_', ' ')}\n\n{row['text']}\n", encoding="utf-8")
    shutil.copy(REPO / "corpus" / "fachtagung-qualitaetsarbeit-2025.md", target)
    return target


def embedded_texts(index_dir: Path) -> list[str]:
    """The passage texts a fresh ingest embedded: every chunk and every sentence of the store."""
    from vectorstore.faiss_store import FaissStore

    store = FaissStore.load(index_dir)
    texts = [c.embedding_text() for c in store.chunks]
    for chunk_row, start, end in store.sentences.tolist():
        texts.append(store.documents[store.chunks[chunk_row].doc_id].text[start:end])
    return texts


def one_run(corpus: Path, embedder, settings, run: int) -> dict[str, Any]:
    from ingest.pipeline import Ingestor

    index_dir = WORK / f"ingest-index-{run}"
    shutil.rmtree(index_dir, ignore_errors=True)
    run_settings = settings.with_overrides(corpus_dir=corpus, index_dir=index_dir, show_progress=False)
    began = time.perf_counter()
    report = Ingestor(run_settings, embedder_factory=lambda: embedder).run()
    ingest_s = time.perf_counter() - began
    texts = embedded_texts(index_dir)
    began = time.perf_counter()
    embedder.encode_passages(texts, batch_size=settings.batch_size)
    raw_s = time.perf_counter() - began
    shutil.rmtree(index_dir, ignore_errors=True)
    ingest_rate = report.embedded / ingest_s
    raw_rate = len(texts) / raw_s
    return {
        "documents": report.documents, "chunks": report.chunks, "sentences": report.sentences,
        "texts_embedded": report.embedded, "ingest_s": round(ingest_s, 2), "raw_encode_s": round(raw_s, 2),
        "ingest_texts_per_s": round(ingest_rate, 1), "raw_texts_per_s": round(raw_rate, 1),
        "ingest_chunks_per_s": round(report.chunks / ingest_s, 2),
        "ratio_raw_over_ingest": round(raw_rate / ingest_rate, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docs", type=int, default=240, help="number of XQuAD passages in the corpus")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for perf_ingest.json")
    args = parser.parse_args(argv)
    from vectorstore.embedding import passage_backend

    settings = load_settings()
    backend = passage_backend(settings.embedding_backend)
    began = time.perf_counter()
    embedder = load_embedder(settings, backend)
    load_s = time.perf_counter() - began
    corpus = make_corpus(WORK / "xquad-corpus", args.docs)
    runs = []
    for i in range(args.runs):
        print(f"ingest throughput: run {i + 1}/{args.runs}", flush=True)
        runs.append(one_run(corpus, embedder, settings, i))
    payload = {
        "benchmark": "ingest_throughput", "machine": machine_facts(), "embedding_backend": backend,
        "batch_size": settings.batch_size, "model_load_s": round(load_s, 2), "runs": args.runs,
        "median": merge_runs(runs), "all_runs": runs,
        "note": "ingest_s is the whole Ingestor.run with the model already loaded; raw_encode_s embeds the same "
                "texts (all chunks and sentences) with the same model, backend and batch size; medians over runs",
    }
    path = write_result("perf_ingest", payload, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
