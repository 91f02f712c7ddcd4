"""Speed and quality of the embedding backends (torch, onnx, onnx-int8) side by side.

A faster model that loses quality is no win, so each backend is measured on both:

* speed: model load time, query encode latency (conference questions, one at a time,
  uncached), passage throughput (the 240 German XQuAD passages, batch 32);
* vectors: cosine of each backend's query and passage vectors to the torch ones;
* answers: the conference question set and the XQuAD questions asked through the real
  `QuestionAnswering` (judged by bench/judging.py), with the query vectors of the
  backend under test. Both stores are built once with the "onnx" backend, which gives the
  torch vectors (cosine 1.0000), so only the question side differs between rows, exactly as
  in the service, where passages are embedded at ingest and questions at request time.

    python -m bench.perf.backends                       # writes bench/results/perf_backends.json
    python -m bench.perf.backends --xquad-limit 50 --backends onnx-int8 --out /tmp/x
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf.common import (
    REPO, RESULTS, WORK, XQUAD, conference_questions, load_embedder, machine_facts, percentiles, read_jsonl, write_result,
)
from vectorstore.settings import Settings, load_settings

BACKENDS = ("torch", "onnx", "onnx-int8")


def _load(settings: Settings, backend: str):
    began = time.perf_counter()
    embedder = load_embedder(settings, backend)
    return embedder, time.perf_counter() - began


def _xquad_corpus(target: Path, passage_ids: set[str] | None) -> Path:
    """German XQuAD passages as Markdown files named by id (bench/evaluate.py's format);
    only `passage_ids` when given (quick runs)."""
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for row in read_jsonl(XQUAD / "passages.de.jsonl"):
        if passage_ids is None or row["id"] in passage_ids:
            (target / f"{row['id']}.md").write_text(
                f"---\ntitle: \"{row['id']}\"\nlanguage: de\n---\n\n{row['text'].strip()}\n", encoding="utf-8"
            )
    return target


def _stores(settings: Settings, store_backend: str, passage_ids: set[str] | None) -> tuple[Path, Path]:
    """Conference and XQuAD stores, built with `store_backend` under bench/_work/perf/
    (an unchanged corpus re-uses the store of the previous run)."""
    from ingest.pipeline import Ingestor

    embedder = load_embedder(settings, store_backend)
    suffix = "all" if passage_ids is None else f"{len(passage_ids)}"
    corpora = {
        WORK / f"conference-index-{store_backend}": REPO / "corpus",
        WORK / f"xquad-index-{store_backend}-{suffix}": _xquad_corpus(WORK / f"xquad-md-corpus-{suffix}", passage_ids),
    }
    for index_dir, corpus in corpora.items():
        store_settings = settings.with_overrides(corpus_dir=corpus, index_dir=index_dir, show_progress=False)
        Ingestor(store_settings, embedder_factory=lambda: embedder).run()
    conference, xquad = corpora
    return conference, xquad


def _answers(embedder, top_k: int, conference_index: Path, xquad_index: Path, xquad_limit: int | None) -> dict[str, Any]:
    """Answer figures per backend, judged by bench/judging.py (`answer_accuracy` = right ÷ questions)."""
    from bench.datasets import conference_cases, xquad_cases
    from bench.evaluate import InProcessAsker
    from bench.judging import by_field, judge_conference, judge_xquad, retrieval_figures, tally
    from service.qa import QuestionAnswering
    from vectorstore.faiss_store import FaissStore

    ask = InProcessAsker(QuestionAnswering(FaissStore.load(conference_index), embedder), top_k)
    verdicts = [judge_conference(c, ask(c.question)) for c in conference_cases()]
    conference = {
        lang: {"answer_accuracy": row["right_share"], "precision": row["precision"], "wrong": row["wrong"]}
        for lang, row in by_field(verdicts, "lang").items()
    }
    ask = InProcessAsker(QuestionAnswering(FaissStore.load(xquad_index), embedder), max(top_k, 10))
    xquad = {}
    for lang in ("de", "en"):
        cases = xquad_cases(lang)[:xquad_limit] if xquad_limit else xquad_cases(lang)
        judged = [judge_xquad(c, ask(c.question)) for c in cases]
        row = {**tally(judged), **retrieval_figures(judged)}
        xquad[lang] = {"questions": row["questions"], "hit@1": row["hit@1"], "hit@5": row["hit@5"],
                       "answer_accuracy": row["right_share"]}
    return {"conference": conference, "xquad": xquad}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--xquad-limit", type=int, default=0, help="questions per language (0: all 612)")
    parser.add_argument("--passages", type=int, default=240, help="XQuAD passages for the throughput figure")
    parser.add_argument("--reference", default="torch", help="backend whose vectors the cosines compare with")
    parser.add_argument("--store-backend", default="onnx", help="backend that embeds the stores' passages")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for perf_backends.json")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    questions = conference_questions()
    xq = [q["question"] for lang in ("de", "en") for q in read_jsonl(XQUAD / f"questions.{lang}.jsonl")]
    passages = [p["text"] for p in read_jsonl(XQUAD / "passages.de.jsonl")][: args.passages]
    passage_ids = None
    if args.xquad_limit:
        passage_ids = {q["passage_id"] for lang in ("de", "en")
                       for q in read_jsonl(XQUAD / f"questions.{lang}.jsonl")[: args.xquad_limit]}
    settings = load_settings()
    conference_index, xquad_index = _stores(settings, args.store_backend, passage_ids)
    reference: dict[str, np.ndarray] = {}
    rows: dict[str, Any] = {}
    for backend in [args.reference, *[b for b in backends if b != args.reference]]:
        print(f"backends: {backend}", flush=True)
        embedder, load_s = _load(settings, backend)
        embedder.encode_query("Aufwärmen")
        lat = []
        for q in questions:
            began = time.perf_counter()
            embedder.encode_queries([q], batch_size=1)
            lat.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        pv = embedder.encode_passages(passages, batch_size=32)
        passage_rate = len(passages) / (time.perf_counter() - began)
        qv = embedder.encode_queries(xq, batch_size=64)
        if backend == args.reference:
            reference = {"q": qv, "p": pv}
        row: dict[str, Any] = {
            "load_s": round(load_s, 2), "query_ms": percentiles(lat), "passages_per_s": round(passage_rate, 1),
            f"cosine_to_{args.reference}": {
                "queries_mean": round(float((qv * reference["q"]).sum(1).mean()), 5),
                "queries_min": round(float((qv * reference["q"]).sum(1).min()), 5),
                "passages_mean": round(float((pv * reference["p"]).sum(1).mean()), 5),
                "passages_min": round(float((pv * reference["p"]).sum(1).min()), 5),
            },
        }
        if backend in backends:
            row.update(_answers(embedder, settings.top_k, conference_index, xquad_index, args.xquad_limit or None))
            rows[backend] = row
        embedder.clear_cache()
    payload = {
        "benchmark": "backends", "machine": machine_facts(), "backends": rows,
        "note": "stores built with the onnx backend (= torch vectors); only the question side differs per row. "
                "Query latency: encode only, uncached, one thread.",
    }
    path = write_result("perf_backends", payload, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
