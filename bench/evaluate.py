"""Answer quality as numbers: the conference question set and XQuAD (German passages).

Run from the project folder:

    tagungsbot eval                         # both benchmarks, in-process
    tagungsbot eval --only conference       # the conference set only (seconds)
    tagungsbot eval --url http://127.0.0.1:8000 --only conference   # against a running service
    python bench/evaluate.py --grid          # fusion / chunking grid search (writes eval_grid.*)

Conference set (bench/conference_questions.jsonl): every question is asked through the
real `QuestionAnswering` (or POSTed to /api/ask). An answerable question counts as correct
when one of its expected answers is in the answer text AND a citation contains its
evidence; an unanswerable one when the service abstained.

XQuAD (../shared/bench-data/xquad): the 240 German passages are written one file per
passage into bench/_work/xquad/corpus (file name = passage id = doc id) and built with
the real `Ingestor` into an index cached under bench/_work/xquad/ by a hash of corpus,
model, chunking and analysis code. German and, separately, English questions are asked.
Retrieval hit@1 / hit@5 / MRR@10 count a chunk of the gold passage as a hit; answer
accuracy needs the expected (German) answer string in the answer and the gold passage
among the citations. Abstention on XQuAD is measured with the conference questions,
which the XQuAD passages cannot answer.

Results go to bench/results/eval.json and eval.md (eval_grid.* for the grid).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service.language import Language  # noqa: E402
from vectorstore.analysis import fold  # noqa: E402
from vectorstore.settings import Settings  # noqa: E402

CONFERENCE_SET = ROOT / "bench" / "conference_questions.jsonl"
XQUAD_DIR = ROOT.parent / "shared" / "bench-data" / "xquad"
WORK_DIR = ROOT / "bench" / "_work"
RESULTS_DIR = ROOT / "bench" / "results"

# Source files whose change alters what an XQuAD index contains (chunks, sentences, BM25 terms).
_INDEX_CODE = (
    "ingest/chunking.py", "ingest/sentences.py", "ingest/cleaning.py", "ingest/loaders.py",
    "vectorstore/analysis.py", "vectorstore/keyword.py", "vectorstore/records.py", "vectorstore/faiss_store.py",
)


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Case:
    """One benchmark question with what a right answer must contain."""

    id: str
    lang: Language
    question: str
    answerable: bool
    answers: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # any of these in a citation makes it the right one
    passage_id: str | None = None


@dataclass
class Outcome:
    """What the system did with one `Case`."""

    id: str
    lang: str
    question: str
    answerable: bool
    abstained: bool
    answer_ok: bool
    citation_ok: bool
    ms: float
    rank: int | None = None  # 1-based rank of the first gold chunk among the retrieved ones
    answer: str = ""

    @property
    def correct(self) -> bool:
        if not self.answerable:
            return self.abstained
        return not self.abstained and self.answer_ok and self.citation_ok


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def conference_cases(path: Path = CONFERENCE_SET) -> list[Case]:
    return [
        Case(
            id=row["id"], lang=row["lang"], question=row["question"], answerable=bool(row["answerable"]),
            answers=tuple(row.get("answers") or ()),
            evidence=tuple([row["evidence"]] if isinstance(row.get("evidence"), str) else row.get("evidence") or ()),
        )
        for row in read_jsonl(path)
    ]


def xquad_cases(lang: Language, data_dir: Path = XQUAD_DIR) -> list[Case]:
    return [
        Case(
            id=f"{row['id']}-{lang}", lang=lang, question=row["question"], answerable=True,
            answers=tuple(row["answer_texts"]), passage_id=row["passage_id"],
        )
        for row in read_jsonl(data_dir / f"questions.{lang}.jsonl")
    ]


def contains(haystack: str, needle: str) -> bool:
    """Case-, umlaut- and whitespace-insensitive containment."""
    return " ".join(fold(needle).split()) in " ".join(fold(haystack).split())


# ----------------------------------------------------------------------------- metrics


def summarize(outcomes: Sequence[Outcome], retrieval: bool = False) -> dict:
    """Accuracy, abstention and (with `retrieval`, gold passages known) retrieval figures."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    abstained = [o for o in outcomes if o.abstained]
    ms = [o.ms for o in outcomes]

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    out = {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_accuracy": share(sum(o.correct for o in answerable), len(answerable)),
        "answered_wrong": sum(1 for o in answerable if not o.abstained and not o.correct),
        "abstained_answerable": sum(1 for o in answerable if o.abstained),
        "invented": sum(1 for o in unanswerable if not o.abstained),
        "abstention_precision": share(sum(1 for o in abstained if not o.answerable), len(abstained)),
        "abstention_recall": share(sum(1 for o in unanswerable if o.abstained), len(unanswerable)),
        "latency_ms_median": round(statistics.median(ms), 1) if ms else None,
        "latency_ms_p95": round(float(np.percentile(ms, 95)), 1) if ms else None,
    }
    if retrieval:
        ranks = [o.rank for o in answerable]
        out["hit@1"] = share(sum(1 for r in ranks if r is not None and r <= 1), len(ranks))
        out["hit@5"] = share(sum(1 for r in ranks if r is not None and r <= 5), len(ranks))
        out["mrr@10"] = round(sum(1.0 / r for r in ranks if r is not None and r <= 10) / len(ranks), 4) if ranks else None
    return out


def by_language(outcomes: Sequence[Outcome]) -> dict[str, dict]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.lang, []).append(o)
    result = {lang: summarize(group) for lang, group in sorted(groups.items())}
    result["all"] = summarize(outcomes)
    return result


# ----------------------------------------------------------------------------- asking


AskFn = Callable[[str], dict]
"""question → the /api/ask JSON body (in-process or over HTTP)."""


def in_process_ask(qa, top_k: int) -> AskFn:
    from service.routers.ask import answer_to_response

    def ask(question: str) -> dict:
        result = qa.ask(question, top_k)
        body = answer_to_response(result.answer, result.took_ms).model_dump()
        body["_ranked_doc_ids"] = [p.chunk.doc_id for p in result.passages]
        return body

    return ask


def http_ask(url: str, top_k: int | None = None, timeout: float = 60.0) -> AskFn:
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def ask(question: str) -> dict:
        payload: dict = {"question": question}
        if top_k:
            payload["top_k"] = top_k
        began = time.perf_counter()
        response = client.post("/api/ask", json=payload)
        if response.status_code != 200:
            raise RuntimeError(f"{url}/api/ask answered {response.status_code}: {response.text[:300]}")
        body = response.json()
        body["_client_ms"] = (time.perf_counter() - began) * 1000
        return body

    return ask


def judge(case: Case, body: dict) -> Outcome:
    """Score one answer body against its case."""
    abstained = bool(body["abstained"])
    citations = body.get("citations", [])
    answer = body.get("answer", "")
    answer_ok = any(contains(answer, a) for a in case.answers) if case.answers else False
    if case.passage_id is not None:
        citation_ok = any(Path(c["doc_id"]).stem == case.passage_id for c in citations)
    elif case.evidence:
        citation_ok = any(contains(c["text"], e) for c in citations for e in case.evidence)
    else:
        citation_ok = False
    rank = None
    if case.passage_id is not None and "_ranked_doc_ids" in body:
        for i, doc_id in enumerate(body["_ranked_doc_ids"]):
            if Path(doc_id).stem == case.passage_id:
                rank = i + 1
                break
    return Outcome(
        id=case.id, lang=case.lang, question=case.question, answerable=case.answerable, abstained=abstained,
        answer_ok=answer_ok, citation_ok=citation_ok, ms=float(body.get("_client_ms", body.get("took_ms", 0.0))),
        rank=rank, answer=answer,
    )


def run_cases(cases: Iterable[Case], ask: AskFn) -> list[Outcome]:
    return [judge(case, ask(case.question)) for case in cases]


# ----------------------------------------------------------------------------- XQuAD corpus and index


def write_xquad_corpus(target: Path, data_dir: Path = XQUAD_DIR) -> Path:
    """One Markdown file per German passage, named by its id; returns the corpus folder."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for row in read_jsonl(data_dir / "passages.de.jsonl"):
        # The title is the neutral passage id: the English Wikipedia titles would hand English
        # questions a lexical hook that a German corpus does not have.
        wanted[f"{row['id']}.md"] = f"---\ntitle: \"{row['id']}\"\nlanguage: de\n---\n\n{row['text'].strip()}\n"
    for path in target.glob("*.md"):
        if path.name not in wanted:
            path.unlink()
    for name, text in wanted.items():
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return target


def index_key(settings: Settings, corpus_dir: Path) -> str:
    """Hash of everything an XQuAD index depends on: corpus files, model, chunking, analysis code."""
    digest = hashlib.sha256()
    for path in sorted(corpus_dir.glob("*.md")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(f"{settings.embedding_model}|{settings.chunk_size}|{settings.chunk_overlap}".encode())
    for rel in _INDEX_CODE:
        digest.update((ROOT / rel).read_bytes())
    return digest.hexdigest()[:16]


class VectorCache:
    """Disk cache of passage and query vectors by text, so grid runs embed each text once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as data:
                keys = [str(k) for k in data["keys"]]
                self.vectors = dict(zip(keys, data["vectors"]))
        self._dirty = False

    @staticmethod
    def key(kind: str, text: str) -> str:
        return kind + ":" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def save(self) -> None:
        if not self._dirty or not self.vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        tmp.replace(self.path)
        self._dirty = False

    def encode(self, kind: str, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        keys = [self.key(kind, t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts) if k not in self.vectors}
        if todo:
            fresh = encode(list(todo.values()))
            self.vectors.update(zip(todo.keys(), fresh))
            self._dirty = True
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)


def cached_embedder(settings: Settings, cache: VectorCache):
    """The configured `Embedder`, with passages and batch queries served from `cache`."""
    from vectorstore.embedding import Embedder

    backend = getattr(settings, "embedding_backend", "torch")
    base = Embedder.load(settings.embedding_model, settings.model_cache_dir, settings.torch_threads, backend=backend)

    class _Cached(Embedder):
        def encode_passages(self, texts, batch_size=32, progress=False):  # type: ignore[override]
            if not texts:
                return super().encode_passages(texts, batch_size, progress)
            return cache.encode(
                f"p|{self.name}", texts, lambda todo: Embedder.encode_passages(self, todo, batch_size, progress)
            )

        def encode_queries(self, texts, batch_size=64):  # type: ignore[override]
            return cache.encode(f"q|{self.name}", texts, lambda todo: Embedder.encode_queries(self, todo, batch_size))

    return _Cached(base.model, base.name, backend=backend, cache_dir=settings.model_cache_dir)


def xquad_index(settings: Settings, embedder, work_dir: Path = WORK_DIR / "xquad", log=print) -> Path:
    """Build (or re-use) the XQuAD index for these settings; returns the index folder."""
    from ingest.pipeline import Ingestor

    corpus = write_xquad_corpus(work_dir / "corpus")
    index_dir = work_dir / f"index-{index_key(settings, corpus)}"
    if (index_dir / "CURRENT").exists():
        return index_dir
    began = time.perf_counter()
    build = settings.with_overrides(corpus_dir=corpus, index_dir=index_dir, show_progress=False)
    report = Ingestor(build, embedder_factory=lambda: embedder).run()
    log(f"xquad index built in {time.perf_counter() - began:.0f} s: {report.summary()}")
    return index_dir


def prime_queries(qa, questions: Sequence[str]) -> None:
    """Put batch-encoded question vectors into the embedder's query cache (grid runs only)."""
    vectors = qa.retriever.embedder.encode_queries(list(questions))
    embedder = qa.retriever.embedder
    for text, vector in zip(questions, vectors):
        vector.setflags(write=False)
        embedder._cache[text] = vector  # noqa: SLF001 - bench-only shortcut around per-question encoding
    embedder._cache_size = max(embedder._cache_size, len(embedder._cache) + 16)  # noqa: SLF001


# ----------------------------------------------------------------------------- reports


def load_qa(settings: Settings, index_dir: Path, embedder):
    from service.qa import QuestionAnswering
    from vectorstore.faiss_store import FaissStore

    store = FaissStore.load(index_dir)
    store.manifest.check_model(settings.embedding_model, embedder.dimension)
    return QuestionAnswering(store, embedder)


def measure_latency(qa, questions: Sequence[str], passes: int = 3) -> dict:
    """In-process `ask` latency in ms, median and p95 over `passes` runs of `questions`:
    with the question embedding (the query cache emptied before each pass) and without it
    (vectors cached: retrieval, evidence checks and answer composition only)."""
    embedder = qa.retriever.embedder

    def timed() -> list[float]:
        took = []
        for question in questions:
            began = time.perf_counter()
            qa.ask(question, 5)
            took.append((time.perf_counter() - began) * 1000)
        return took

    def clear() -> None:
        embedder._cache.clear()  # noqa: SLF001 - measure the embedding, not the query cache

    with_embedding: list[float] = []
    for _ in range(passes):
        clear()
        with_embedding += timed()
    without_embedding: list[float] = []
    for _ in range(passes):
        without_embedding += timed()

    def stats(ms: list[float]) -> dict:
        return {"median": round(statistics.median(ms), 2), "p95": round(float(np.percentile(ms, 95)), 2)}

    return {
        "questions": len(questions), "passes": passes, "backend": getattr(embedder, "backend", "torch"),
        "with_embedding_ms": stats(with_embedding), "without_embedding_ms": stats(without_embedding),
    }


def run_conference(settings: Settings, embedder, url: str | None, log=print) -> dict:
    """The conference set, in-process over the project store (built if missing) or over HTTP."""
    cases = conference_cases()
    if url:
        outcomes = run_cases(cases, http_ask(url))
        where = url
    else:
        from ingest.pipeline import Ingestor

        Ingestor(settings.with_overrides(show_progress=False), embedder_factory=lambda: embedder).run()
        qa = load_qa(settings, settings.index_dir, embedder)
        ask = in_process_ask(qa, settings.top_k)
        for case in cases[:3]:  # warm-up: first calls pay for lazy loading
            ask(case.question)
        outcomes = run_cases(cases, ask)
        where = "in-process"
        latency = measure_latency(qa, [c.question for c in cases])
    result = {"where": where, "summary": by_language(outcomes), "outcomes": [asdict(o) for o in outcomes]}
    if not url:
        result["latency"] = latency
    return result


def run_xquad(settings: Settings, embedder, log=print, limit: int | None = None) -> dict:
    """German and English XQuAD questions over the German passages, plus conference abstention."""
    index_dir = xquad_index(settings, embedder, log=log)
    qa = load_qa(settings, index_dir, embedder)
    ask = in_process_ask(qa, max(settings.top_k, 10))
    summary: dict[str, dict] = {}
    outcomes: dict[str, list[Outcome]] = {}
    for lang in ("de", "en"):
        cases = xquad_cases(lang)[:limit] if limit else xquad_cases(lang)
        outcomes[lang] = run_cases(cases, ask)
        summary[lang] = summarize(outcomes[lang], retrieval=True)
    # Out-of-corpus questions for the XQuAD corpus: the conference questions.
    foreign = [Case(c.id, c.lang, c.question, answerable=False) for c in conference_cases()]
    off = run_cases(foreign, ask)
    for lang in ("de", "en"):
        mine = [o for o in off if o.lang == lang]
        merged = summarize(outcomes[lang] + mine)
        summary[lang]["abstention_precision"] = merged["abstention_precision"]
        summary[lang]["abstention_recall"] = merged["abstention_recall"]
        summary[lang]["invented"] = merged["invented"]
        summary[lang]["unanswerable"] = merged["unanswerable"]
    misses = {lang: [asdict(o) for o in outs if not o.correct][:40] for lang, outs in outcomes.items()}
    return {"index": index_dir.name, "summary": summary, "misses": misses}


def run_grid(settings: Settings, embedder, log=print) -> dict:
    """Fusion weights per language, scored by XQuAD hit@1 and conference answer accuracy."""
    from service.qa import QuestionAnswering
    from service.retrieval import FusionWeights

    index_dir = xquad_index(settings, embedder, log=log)
    xq = load_qa(settings, index_dir, embedder)
    conf = load_qa(settings, settings.index_dir, embedder)
    sets = {lang: xquad_cases(lang) for lang in ("de", "en")}
    for cases in sets.values():
        prime_queries(xq, [c.question for c in cases])
    conference = conference_cases()
    prime_queries(conf, [c.question for c in conference])
    rows = []
    grid = [(sw, kw) for sw in (0.0, 0.5, 0.75, 1.0, 1.5, 2.0) for kw in (0.0, 0.1, 0.3, 0.5, 0.7, 1.0)]
    for method in ("relative", "rrf"):
        for sw, kw in grid:
            if method == "rrf" and sw not in (0.0, 1.0):
                continue
            weights = FusionWeights(sentence_de=sw, sentence_en=sw, keyword_de=kw, keyword_en=kw, method=method)
            row = {"method": method, "sentence_weight": sw, "keyword_weight": kw}
            for lang, cases in sets.items():
                retriever = QuestionAnswering(xq.store, embedder, weights).retriever
                hits = sum(
                    Path(retriever.run(c.question, 1, lang).passages[0].chunk.doc_id).stem == c.passage_id for c in cases
                )
                row[f"xquad_{lang}_hit@1"] = round(hits / len(cases), 4)
            qa = QuestionAnswering(conf.store, embedder, weights)
            for lang in ("de", "en"):
                outs = [judge(c, in_process_ask(qa, settings.top_k)(c.question)) for c in conference if c.lang == lang]
                row[f"conference_{lang}_accuracy"] = round(sum(o.correct for o in outs) / len(outs), 4)
            log(json.dumps(row))
            rows.append(row)
    return {"index": index_dir.name, "rows": rows}


def table(rows: dict[str, dict], columns: Sequence[str]) -> str:
    """Markdown table: one row per key of `rows`."""
    head = "| set | " + " | ".join(columns) + " |"
    line = "|---|" + "---|" * len(columns)
    body = []
    for name, row in rows.items():
        cells = []
        for col in columns:
            value = row.get(col)
            cells.append("–" if value is None else (f"{value:.3f}" if isinstance(value, float) and value <= 1.0 and "ms" not in col else str(value)))
        body.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([head, line, *body])


COLUMNS = (
    "questions", "hit@1", "hit@5", "mrr@10", "answer_accuracy", "answered_wrong", "invented",
    "abstention_precision", "abstention_recall", "latency_ms_median", "latency_ms_p95",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tagungsbot eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["conference", "xquad"], help="run one benchmark only")
    parser.add_argument("--url", help="ask a running service (POST {url}/api/ask) for the conference set")
    parser.add_argument("--limit", type=int, help="XQuAD: first N questions per language (quick checks)")
    parser.add_argument("--out", default="eval", help="base name of the result files in bench/results/")
    parser.add_argument("--no-write", action="store_true", help="print only, write no result files")
    parser.add_argument("--grid", action="store_true", help="grid-search the fusion weights (writes eval_grid.*)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    cache = VectorCache(WORK_DIR / "vector-cache.npz")
    embedder = None if (args.url and args.only == "conference") else cached_embedder(settings, cache)
    report: dict = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "model": settings.embedding_model,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
    }
    rows: dict[str, dict] = {}
    if args.grid:
        try:
            grid = run_grid(settings, embedder)
        finally:
            cache.save()
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "eval_grid.json").write_text(json.dumps({**report, **grid}, indent=1), encoding="utf-8")
        columns = [k for k in grid["rows"][0]]
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in grid["rows"]]
        (RESULTS_DIR / "eval_grid.md").write_text(
            f"# Fusion grid ({report['created']}, chunks {settings.chunk_size}/{settings.chunk_overlap})\n\n"
            "Same weights for both languages per row; pick per language from the columns.\n\n" + "\n".join(lines) + "\n",
            encoding="utf-8",
        )
        return 0
    try:
        if args.only in (None, "conference"):
            conf = run_conference(settings, embedder, args.url)
            report["conference"] = conf
            for lang, row in conf["summary"].items():
                rows[f"conference {lang}"] = row
        if args.only in (None, "xquad"):
            xq = run_xquad(settings, embedder, limit=args.limit)
            report["xquad"] = xq
            for lang, row in xq["summary"].items():
                rows[f"xquad {lang}"] = row
    finally:
        cache.save()
    text = table(rows, COLUMNS)
    latency = report.get("conference", {}).get("latency")
    if latency:
        text += (
            f"\n\nIn-process ask latency on the conference set ({latency['questions']} questions × {latency['passes']} "
            f"passes, embedding backend {latency['backend']}): with the question embedding median "
            f"{latency['with_embedding_ms']['median']} ms, p95 {latency['with_embedding_ms']['p95']} ms; "
            f"without it (vector cached) median {latency['without_embedding_ms']['median']} ms, "
            f"p95 {latency['without_embedding_ms']['p95']} ms."
        )
    print(text)
    if "conference" in report:
        wrong = [o for o in report["conference"]["outcomes"] if not Outcome(**o).correct]
        for o in wrong:
            kind = "answerable" if o["answerable"] else "unanswerable"
            print(f"  miss {o['id']} ({kind}, abstained={o['abstained']}): {o['question']}\n      → {o['answer'][:160]}")
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / f"{args.out}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        note = (
            f"# Evaluation ({report['created']})\n\nModel {settings.embedding_model}, chunks "
            f"{settings.chunk_size}/{settings.chunk_overlap}. Latency: in-process ask, ms; 2 shared cores.\n\n{text}\n"
        )
        (RESULTS_DIR / f"{args.out}.md").write_text(note, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
