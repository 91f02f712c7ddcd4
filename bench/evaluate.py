"""Answer quality as numbers, per set and per kind of question.

    tagungsbot eval                                  # every set, in-process (python -m bench.evaluate)
    tagungsbot eval --only conference                # the conference set, in both stores
    tagungsbot eval --only events                    # the event-report set (five-report store)
    tagungsbot eval --only followups                 # its follow-up questions, with and without history
    tagungsbot eval --only xquad                     # XQuAD dev half, per article fold
    tagungsbot eval --only events --url http://127.0.0.1:8000    # ask a running service instead
    python -m bench.evaluate --grid                  # fusion weight grid (conference dev + XQuAD)

Every question goes through the real `QuestionAnswering` over a real store built with the
real `Ingestor` (bench/stores.py; cached by content hash under bench/_work/), or is POSTed to
/api/ask of a running service. Responses are judged by the pure functions of
bench/judging.py; each gets the status right, wrong or abstained, and every table reports
right / wrong / abstained, precision (right answers ÷ answers) and coverage (answers ÷ questions).

Sets (all read from this repository):
- conference (bench/conference_questions.jsonl): its dev part and its test part (report only,
  never tuned on), each in the one-report store (corpus/) and the five-report store
  (corpus/ + bench/data/events/); kinds are the set's answer types.
- events (bench/data/events/questions.jsonl) in the five-report store, judged as its README
  says; kinds factoid ... cross_event; citation precision = cited passages from `doc`/`docs`.
- xquad (bench/data/xquad/): German and English questions over the German passages;
  right = a gold span in the answer AND the gold passage cited AND at most two quoted
  sentences. Reported per article fold (`bench.datasets.article_folds`) and their mean, plus
  retrieval hit@1 / hit@5 / MRR@10, and abstention on the conference questions (off-corpus).

Results: bench/results/eval.json and eval.md (a run with --only replaces its own sections
and keeps the others).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bench.datasets import Case, article_folds, conference_cases, event_cases, followup_cases, xquad_cases
from bench.judging import (
    RIGHT, WRONG, Verdict, by_field, judge_conference, judge_event, judge_xquad, retrieval_figures, tally,
)
from bench.stores import WORK_DIR, StoreBuilder

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PERF_NEW_QUESTIONS = RESULTS_DIR / "perf_ask_new.json"
SETS = ("conference", "events", "followups", "xquad")
STORES = ("one-report", "five-reports")
DEFAULT_FOLDS = 4
REPORT_FORMAT = 2  # eval.json sections of another format are not merged with a partial (--only) run

AskFn = Callable[..., dict]
"""(question, history=None) → the /api/ask JSON body, plus `_ranked_doc_ids` in-process."""


# ----------------------------------------------------------------------------- embedding with a disk cache


class VectorCache:
    """Disk cache of passage vectors by text, so a rebuilt store embeds only new text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as data:
                self.vectors = dict(zip((str(k) for k in data["keys"]), data["vectors"]))
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


def cached_embedder(settings, cache: VectorCache):
    """The configured `Embedder`, with passages (and batch queries) served from `cache`."""
    from vectorstore.embedding import Embedder

    backend = settings.embedding_backend
    base = Embedder.load(settings.embedding_model, settings.model_cache_dir, settings.torch_threads, backend=backend)

    class _Cached(Embedder):
        def encode_passages(self, texts, batch_size=32, progress=False):  # type: ignore[override]
            if not texts:
                return super().encode_passages(texts, batch_size, progress)
            return cache.encode(
                f"p|{self.name}|{backend}", texts, lambda todo: Embedder.encode_passages(self, todo, batch_size, progress)
            )

        def encode_queries(self, texts, batch_size=64):  # type: ignore[override]
            return cache.encode(f"q|{self.name}|{backend}", texts, lambda todo: Embedder.encode_queries(self, todo, batch_size))

    return _Cached(base.model, base.name, backend=backend, cache_dir=settings.model_cache_dir)


# ----------------------------------------------------------------------------- asking


def accepts_history(ask_method) -> bool:
    """Whether `QuestionAnswering.ask` takes the earlier turns (`history=`)."""
    try:
        parameters = inspect.signature(ask_method).parameters
    except (TypeError, ValueError):
        return False
    return "history" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def response_body(result) -> dict:
    """The JSON body /api/ask sends for an in-process `AskResult`."""
    from service.schemas import AskResponse

    body = AskResponse.of(result.answer, result.took_ms).model_dump()
    body["_ranked_doc_ids"] = [p.chunk.doc_id for p in getattr(result, "passages", ())]
    return body


class InProcessAsker:
    """Asks a `QuestionAnswering` directly; follow-ups get `history=` when it is accepted."""

    def __init__(self, qa, top_k: int) -> None:
        self.qa = qa
        self.top_k = top_k
        self.history_supported = accepts_history(qa.ask)

    def __call__(self, question: str, history: Sequence[dict] | None = None) -> dict:
        if history and self.history_supported:
            result = self.qa.ask(question, self.top_k, history=list(history))
        else:
            result = self.qa.ask(question, self.top_k)
        return response_body(result)


class HttpAsker:
    """POSTs to {url}/api/ask; sends `history` when the service's OpenAPI schema has it, and
    waits as `Retry-After` says when the service is rate-limited or busy."""

    def __init__(self, url: str, timeout: float = 60.0, retries: int = 20) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.retries = retries
        self.client = httpx.Client(base_url=self.url, timeout=timeout)
        try:
            schema = self.client.get("/openapi.json").json()
            fields = schema["components"]["schemas"]["AskRequest"]["properties"]
            self.history_supported = "history" in fields
        except Exception:  # noqa: BLE001 - no schema: ask standalone, and say so
            self.history_supported = False

    def __call__(self, question: str, history: Sequence[dict] | None = None) -> dict:
        payload: dict = {"question": question}
        if history and self.history_supported:
            payload["history"] = list(history)
        began = time.perf_counter()
        response = self.client.post("/api/ask", json=payload)
        for _ in range(self.retries):  # a rate-limited service says when to come back
            if response.status_code not in (429, 503) or "retry-after" not in response.headers:
                break
            time.sleep(min(float(response.headers["retry-after"]), 30.0))
            began = time.perf_counter()
            response = self.client.post("/api/ask", json=payload)
        if response.status_code != 200:
            raise RuntimeError(f"{self.url}/api/ask answered {response.status_code}: {response.text[:300]}")
        body = response.json()
        body["_client_ms"] = (time.perf_counter() - began) * 1000
        return body


def load_qa(settings, index_dir: Path, embedder):
    from service.qa import QuestionAnswering
    from vectorstore.faiss_store import FaissStore

    store = FaissStore.load(index_dir)
    store.manifest.check_model(settings.embedding_model, embedder.dimension)
    return QuestionAnswering(store, embedder)


def warm_up(ask: AskFn, questions: Sequence[str]) -> None:
    """First calls pay for lazy loading; keep that out of the per-question times."""
    for question in questions[:3]:
        ask(question)


# ----------------------------------------------------------------------------- the sets


def conference_run(ask: AskFn) -> dict:
    """Both parts of the conference set through one store."""
    cases = conference_cases()
    warm_up(ask, [c.question for c in cases])
    verdicts = [judge_conference(case, ask(case.question)) for case in cases]
    split_of = {c.id: c.split for c in cases}
    out: dict = {}
    for split in ("dev", "test"):
        part = [v for v in verdicts if split_of[v.id] == split]
        out[split] = {
            "summary": tally(part), "by_lang": by_field(part, "lang"), "by_kind": by_field(part, "kind"),
            # Misses of the test part are listed by id only: it is not for looking at.
            "misses": [_miss(v) for v in part if not v.right] if split == "dev"
            else [v.id for v in part if not v.right],
        }
    return out


def events_run(ask: AskFn, history_supported: bool, kinds: set[str] | None = None) -> dict:
    """The event-report set; follow-ups with their history when the asker supports it. Reported
    whole and per part of its split (odd ids dev, even ids test; test misses by id only)."""
    cases = event_cases(kinds=kinds)
    warm_up(ask, [c.question for c in cases])
    verdicts = [judge_event(case, ask(case.question, case.history)) for case in cases]
    split_of = {c.id: c.split for c in cases}
    out = {
        "followups_asked": "with history" if history_supported else "standalone (the ask function takes no history)",
        "summary": tally(verdicts), "by_kind": by_field(verdicts, "kind"), "by_lang": by_field(verdicts, "lang"),
        "by_split": {split: tally([v for v in verdicts if split_of[v.id] == split]) for split in ("dev", "test")},
        "misses": [_miss(v) for v in verdicts if not v.right and split_of[v.id] == "dev"],
        "test_misses": [v.id for v in verdicts if not v.right and split_of[v.id] == "test"],
    }
    return out


def followups_run(ask: AskFn, history_supported: bool) -> dict:
    """Follow-ups asked with their history, against the standalone questions they mean (the repo's
    follow-up set) and against themselves asked alone (both sets): does the history help, and is
    nothing answered wrong that the standalone question gets right?"""
    out: dict = {"history_supported": history_supported}
    for name, cases in (("followup set", followup_cases()), ("event set", event_cases(kinds={"followup"}))):
        part: dict = {}
        alone = [judge_event(case, ask(case.question)) for case in cases]
        part["asked alone"] = {"summary": tally(alone)}
        meant = [c for c in cases if c.standalone and c.expect == "answer"]
        if meant:
            standalone = {c.id: judge_event(c, ask(c.standalone)) for c in meant}
            part["standalone question"] = {"summary": tally(list(standalone.values()))}
        if history_supported:
            with_history = [judge_event(case, ask(case.question, case.history)) for case in cases]
            part["with history"] = {"summary": tally(with_history), "misses": [_miss(v) for v in with_history if not v.right]}
            if meant:
                resolved = {v.id: v for v in with_history}
                part["with history, answerable"] = {"summary": tally([resolved[c.id] for c in meant])}
                part["wrong with history where the standalone question is right"] = [
                    c.id for c in meant if standalone[c.id].right and resolved[c.id].status == WRONG
                ]
        out[name] = part
    return out


def xquad_run(ask: AskFn, k: int, limit: int | None = None) -> dict:
    """German and English XQuAD questions, per article fold and overall."""
    out: dict = {"folds": k, "by_lang": {}}
    all_cases = {lang: xquad_cases(lang) for lang in ("de", "en")}
    folds = article_folds(all_cases["de"], k)
    out["fold_articles"] = [list(f.articles) for f in folds]
    warm_up(ask, [c.question for c in all_cases["de"]])
    for lang, cases in all_cases.items():
        cases = cases[:limit] if limit else cases
        verdicts = [judge_xquad(case, ask(case.question)) for case in cases]
        by_article_fold = {a: f.index for f in folds for a in f.articles}
        per_fold = []
        for fold in range(k):
            part = [v for v, c in zip(verdicts, cases) if by_article_fold[c.article] == fold]
            figures = tally(part)
            figures["wrong_share"] = round(figures["wrong"] / figures["questions"], 4) if figures["questions"] else None
            per_fold.append({"fold": fold, **figures, **retrieval_figures(part)})
        keys = ("right_share", "precision", "coverage", "hit@1")
        mean = {key: _mean([f.get(key) for f in per_fold]) for key in keys}
        mean["wrong_share"] = _mean([f["wrong_share"] for f in per_fold])
        too_long = sum(1 for v in verdicts if v.reason.startswith("quotes "))
        out["by_lang"][lang] = {
            "summary": {**tally(verdicts), **retrieval_figures(verdicts), "wrong_only_by_length": too_long},
            "per_fold": per_fold, "fold_mean": mean,
            "misses": [_miss(v) for v in verdicts if not v.right][:40],
        }
    return out


def xquad_off_corpus(ask: AskFn) -> dict:
    """The conference questions asked of the XQuAD store: none is answerable there."""
    cases = [Case(c.id, c.lang, c.question, answerable=False, kind=c.kind) for c in conference_cases()]
    verdicts = [judge_conference(case, ask(case.question)) for case in cases]
    return {"questions": len(verdicts), "abstained": sum(1 for v in verdicts if v.status == RIGHT),
            "answered": sum(1 for v in verdicts if v.answered)}


def cross_validate(cases: Sequence[Case], k: int, fit: Callable[[Sequence[Case]], object],
                   score: Callable[[object, Sequence[Case]], dict]) -> dict:
    """Fit on the other articles, score on the held-out ones, for each of `k` article folds.

    `fit(train_cases)` returns whatever was fitted (a threshold, a scorer); `score(fitted,
    test_cases)` returns figures (e.g. `tally` of judged verdicts). The default configuration
    fits nothing: `fit=lambda cases: None`.
    """
    per_fold = []
    for fold in article_folds(cases, k):
        fitted = fit(fold.train)
        per_fold.append({"fold": fold.index, "articles": list(fold.articles), **score(fitted, fold.test)})
    numeric = {key for row in per_fold for key, value in row.items() if isinstance(value, (int, float)) and key != "fold"}
    return {"per_fold": per_fold, "mean": {key: _mean([row.get(key) for row in per_fold]) for key in sorted(numeric)}}


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def _miss(v: Verdict) -> dict:
    return {"id": v.id, "lang": v.lang, "kind": v.kind, "status": v.status, "reason": v.reason,
            "question": v.question, "answer": v.answer[:300]}


def _one_line(text: str, limit: int = 140) -> str:
    """An answer on one Markdown line: line breaks shown as ⏎, cut at `limit` characters."""
    flat = " ⏎ ".join(part.strip() for part in text.splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def measure_latency(qa, questions: Sequence[str], top_k: int, passes: int = 3) -> dict:
    """In-process `ask` latency in ms: question vectors embedded (cache cleared before each
    pass) and cached (retrieval, evidence checks and answer composition only)."""
    embedder = qa.retriever.embedder

    def timed() -> list[float]:
        took = []
        for question in questions:
            began = time.perf_counter()
            qa.ask(question, top_k)
            took.append((time.perf_counter() - began) * 1000)
        return took

    with_embedding: list[float] = []
    for _ in range(passes):
        embedder.clear_cache()
        with_embedding += timed()
    without_embedding: list[float] = []
    for _ in range(passes):
        without_embedding += timed()

    def stats(ms: list[float]) -> dict:
        return {"median": round(statistics.median(ms), 2), "p95": round(float(np.percentile(ms, 95)), 2)}

    return {"questions": len(questions), "passes": passes, "backend": getattr(embedder, "backend", "?"),
            "with_embedding_ms": stats(with_embedding), "without_embedding_ms": stats(without_embedding)}


# ----------------------------------------------------------------------------- the fusion grid


def run_grid(settings, embedder, stores: StoreBuilder, log=print) -> dict:
    """Fusion weights per language, scored by XQuAD hit@1 (per fold) and conference dev accuracy."""
    from service.qa import QuestionAnswering
    from service.retrieval import FusionWeights

    xq = load_qa(settings, stores.run("xquad"), embedder)
    conf = load_qa(settings, stores.run("one-report"), embedder)
    sets = {lang: xquad_cases(lang) for lang in ("de", "en")}
    dev = conference_cases(split="dev")
    rows = []
    grid = [(sw, kw) for sw in (0.0, 0.5, 1.0, 1.5, 2.0) for kw in (0.0, 0.1, 0.3, 0.5, 0.7, 1.0)]
    for sw, kw in grid:
        weights = FusionWeights(sentence_de=sw, sentence_en=sw, keyword_de=kw, keyword_en=kw, method="relative")
        row: dict = {"sentence_weight": sw, "keyword_weight": kw}
        for lang, cases in sets.items():
            retriever = QuestionAnswering(xq.store, embedder, weights).retriever
            result = cross_validate(
                cases, DEFAULT_FOLDS, fit=lambda train: None,
                score=lambda _, test: {"hit@1": sum(
                    Path(retriever.run(c.question, 1, lang).passages[0].chunk.doc_id).stem == c.passage_id for c in test
                ) / len(test)},
            )
            row[f"xquad_{lang}_hit@1"] = result["mean"]["hit@1"]
        ask = InProcessAsker(QuestionAnswering(conf.store, embedder, weights), settings.top_k)
        verdicts = [judge_conference(c, ask(c.question)) for c in dev]
        row["conference_dev_right"] = tally(verdicts)["right_share"]
        log(json.dumps(row))
        rows.append(row)
    return {"rows": rows}


# ----------------------------------------------------------------------------- reports


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


ANSWER_COLUMNS = ("questions", "right", "wrong", "abstained", "precision", "coverage", "right_share")


def md_table(rows: dict[str, dict], columns: Sequence[str], first: str = "set") -> str:
    lines = [f"| {first} | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for name, row in rows.items()]
    return "\n".join(lines)


def render_markdown(report: dict) -> str:
    """eval.md: one table per set, then per kind."""
    out = [
        f"# Evaluation ({report.get('created', '?')})", "",
        f"Model {report.get('model')}, chunks {report.get('chunk_size')}/{report.get('chunk_overlap')}, "
        f"code {report.get('git_commit', '?')}, load average {report.get('load_average', '?')} on "
        f"{report.get('cpus', '?')} cores. Produced by `tagungsbot eval` (bench/evaluate.py); "
        "judging rules in bench/judging.py.", "",
        *([report["note"], ""] if report.get("note") else []),
        "**right** = the response is what the case asks for (a right answer; an abstention where the documents "
        "hold none; a conversational reply to small talk). **wrong** = answered, not right. **abstained** = said "
        "\"not in the documents\" where an answer was due. **precision** = right answers ÷ answers; "
        "**coverage** = answers ÷ questions; **right_share** = right ÷ questions.", "",
    ]
    conf = report.get("conference")
    if conf:
        out += ["## Conference set (bench/conference_questions.jsonl)", "",
                "Split once (2026-11-29, `python -m bench.conference_split`) into a dev part that may be read and "
                "tuned on, and a test part that is run only to report. Where: " + conf.get("where", "?") + ".", ""]
        rows = {}
        for store, parts in conf["stores"].items():
            for split, part in parts.items():
                label = f"{store} · {split}" + (" (report only)" if split == "test" else "")
                rows[label] = part["summary"]
                for lang in ("de", "en"):
                    if lang in part["by_lang"]:
                        rows[f"{label} · {lang}"] = part["by_lang"][lang]
        out += [md_table(rows, ANSWER_COLUMNS, "store · part"), ""]
        for store, parts in conf["stores"].items():
            kinds = {}
            for split, part in parts.items():
                for kind, row in part["by_kind"].items():
                    if kind != "all":
                        kinds[f"{kind} · {split}"] = row
            out += [f"Per kind (the set's answer type), {store} store:", "", md_table(dict(sorted(kinds.items())),
                    ANSWER_COLUMNS, "kind · part"), ""]
        for store, parts in conf["stores"].items():
            misses = parts["dev"]["misses"]
            if misses:
                out += [f"Dev misses, {store} store:", ""]
                out += [f"- {m['id']} ({m['kind']}, {m['status']}: {m['reason']}): {m['question']} → {_one_line(m['answer'])}"
                        for m in misses]
                out += [""]
            if parts["test"]["misses"]:
                out += [f"Test misses, {store} store (ids only): {', '.join(parts['test']['misses'])}", ""]
    events = report.get("events")
    if events:
        out += ["## Event-report set (bench/data/events/, five-report store)", "",
                f"Judged as bench/data/events/README.md says. Follow-up questions asked {events['followups_asked']}. "
                "citation_precision = cited passages from the question's `doc`/`docs` ÷ cited passages "
                "(answered questions that name a report).", ""]
        cols = (*ANSWER_COLUMNS, "citation_precision")
        rows = {k: v for k, v in events["by_kind"].items()}
        rows.update({f"lang {k}": v for k, v in events["by_lang"].items() if k != "all"})
        rows.update({f"{k} part ({'odd ids, tuned on' if k == 'dev' else 'even ids, report only'})": v
                     for k, v in events.get("by_split", {}).items()})
        out += [md_table(rows, cols, "kind"), ""]
        if events.get("test_misses"):
            out += [f"Test-part misses (ids only): {', '.join(events['test_misses'])}", ""]
        if events["misses"]:
            out += ["Dev-part misses:", ""]
            out += [f"- {m['id']} ({m['kind']}, {m['lang']}, {m['status']}: {m['reason']}): {m['question']} → "
                    f"{_one_line(m['answer'])}" for m in events["misses"]]
            out += [""]
    follow = report.get("followups")
    if follow:
        out += ["## Follow-up questions", "",
                "`followup set`: bench/followups.jsonl (written for this project: follow-ups over the five "
                "reports, each with the standalone question it means; some need a question back). `event set`: "
                "the event set's follow-ups. Target (issue 12): right with history ≥ right of the standalone "
                "questions − 5 points, and no follow-up wrong whose standalone question is right.", ""]
        for name in ("followup set", "event set"):
            part = follow.get(name)
            if not part:
                continue
            rows = {f"{name} · {k}": v["summary"] for k, v in part.items() if isinstance(v, dict) and "summary" in v}
            out += [md_table(rows, ANSWER_COLUMNS, "asked"), ""]
            wrong = part.get("wrong with history where the standalone question is right")
            if wrong is not None:
                out += [f"Wrong with history where the standalone question is right ({name}): "
                        f"{', '.join(wrong) if wrong else 'none'}", ""]
    xq = report.get("xquad")
    if xq:
        out += [f"## XQuAD dev half (bench/data/xquad/), {xq['folds']} article folds", "",
                "right = a gold (German) span in the answer AND the gold passage cited AND at most two quoted "
                "sentences (`wrong_only_by_length`: wrong for the last reason alone). One part is fitted on this "
                "data: the sentence scorer that picks a fact answer's second quote (service/answering/scoring.py). "
                "These figures use the committed weights, fitted on all folds; the cross-validated ones (each fold "
                "scored by weights fitted on the others) are in bench/results/sentence_scorer.md.", ""]
        cols = (*ANSWER_COLUMNS, "wrong_only_by_length", "hit@1", "hit@5", "mrr@10")
        rows = {f"{lang} · all": d["summary"] for lang, d in xq["by_lang"].items()}
        out += [md_table(rows, cols, "language"), ""]
        fold_rows = {}
        for lang, d in xq["by_lang"].items():
            for f in d["per_fold"]:
                fold_rows[f"{lang} · fold {f['fold']}"] = f
            fold_rows[f"{lang} · mean of folds"] = {**d["fold_mean"]}
        out += [md_table(fold_rows, ("questions", "right", "wrong", "abstained", "precision", "coverage",
                                     "right_share", "wrong_share", "hit@1"), "fold"), ""]
        out += ["Fold articles: " + "; ".join(f"{i}: {', '.join(a)}" for i, a in enumerate(xq["fold_articles"])), ""]
        off = xq.get("off_corpus")
        if off:
            out += [f"Off-corpus questions (the {off['questions']} conference questions asked of the XQuAD store): "
                    f"{off['abstained']} abstained, {off['answered']} answered.", ""]
    latency = report.get("latency")
    if latency:
        out += ["## Latency", "",
                f"In-process `ask`, conference set ({latency['questions']} questions × {latency['passes']} passes, "
                f"backend {latency['backend']}): with the question embedding median "
                f"{latency['with_embedding_ms']['median']} ms, p95 {latency['with_embedding_ms']['p95']} ms; "
                f"vector cached median {latency['without_embedding_ms']['median']} ms, "
                f"p95 {latency['without_embedding_ms']['p95']} ms.", ""]
    new = report.get("http_ask_new")
    if new:
        lat = new.get("ask_every_question_new", {}).get("latency_ms", {})
        out += [f"`/api/ask` over HTTP, every question new ({int(lat.get('n') or 0)} conference + event questions, fresh "
                f"server, `tagungsbot bench --only ask_new`, "
                f"{new.get('machine', {}).get('time_utc', '?')}, load average "
                f"{new.get('machine', {}).get('load_average_1_5_15', '?')}): p50 {lat.get('p50')} ms, "
                f"p95 {lat.get('p95')} ms (target p50 ≤ 15, p95 ≤ 40).", ""]
    return "\n".join(out).rstrip() + "\n"


def _git_commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "-C", str(RESULTS_DIR), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    from vectorstore.settings import load_settings

    parser = argparse.ArgumentParser(prog="tagungsbot eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=SETS, help="run one set only (its sections of eval.json are replaced)")
    parser.add_argument("--url", help="ask a running service (POST URL/api/ask) instead of in-process stores")
    parser.add_argument("--limit", type=int, help="XQuAD: first N questions per language (quick checks)")
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help=f"XQuAD article folds (default {DEFAULT_FOLDS})")
    parser.add_argument("--out", help="base name of the result files in bench/results/ (default eval; eval_url with --url)")
    parser.add_argument("--no-write", action="store_true", help="print only, write no result files")
    parser.add_argument("--grid", action="store_true", help="grid-search the fusion weights (writes eval_grid.*)")
    parser.add_argument("--note", default="", help="a sentence put under the title of eval.md (what was measured)")
    args = parser.parse_args(argv)
    if args.url and args.only == "xquad":
        parser.error("--url works for conference, events and followups; XQuAD needs its own store (run it in-process)")

    settings = load_settings()
    cache = VectorCache(WORK_DIR / "vector-cache.npz")
    embedder = None
    if not args.url or args.grid:
        embedder = cached_embedder(settings, cache)
    stores = StoreBuilder(settings, lambda: embedder)
    wanted = [args.only] if args.only else list(SETS)
    report: dict = {
        "format": REPORT_FORMAT, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "model": settings.embedding_model,
        "backend": settings.embedding_backend, "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap, "git_commit": _git_commit(), "note": args.note,
        "cpus": os.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    try:
        if args.grid:
            grid = run_grid(settings, embedder, stores)
            columns = list(grid["rows"][0])
            lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in grid["rows"]]
            if not args.no_write:
                (RESULTS_DIR / "eval_grid.json").write_text(json.dumps({**report, **grid}, indent=1), encoding="utf-8")
                (RESULTS_DIR / "eval_grid.md").write_text(
                    f"# Fusion grid ({report['created']})\n\nXQuAD hit@1 as the mean over {DEFAULT_FOLDS} article "
                    "folds; conference: dev part only.\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
            print("\n".join(lines))
            return 0
        askers: dict[str, object] = {}

        def asker(store: str):
            if args.url:
                return askers.setdefault("url", HttpAsker(args.url))
            if store not in askers:
                askers[store] = InProcessAsker(load_qa(settings, stores.run(store), embedder), settings.top_k)
            return askers[store]

        if "conference" in wanted:
            targets = ["url"] if args.url else list(STORES)
            report["conference"] = {
                "where": args.url or "in-process",
                "stores": {store: conference_run(asker(store)) for store in targets},
            }
            if not args.url:
                report["latency"] = measure_latency(asker("one-report").qa, [c.question for c in conference_cases()],
                                                    settings.top_k)
        if "events" in wanted:
            ask = asker("five-reports")
            report["events"] = {"where": args.url or "in-process, five-report store",
                                **events_run(ask, ask.history_supported)}
        if "followups" in wanted:
            ask = asker("five-reports")
            report["followups"] = followups_run(ask, ask.history_supported)
        if "xquad" in wanted:
            # Ten passages per question, as before: the gold passage's rank is read from them.
            ask = InProcessAsker(asker("xquad").qa, max(settings.top_k, 10))
            xq = xquad_run(ask, args.folds, args.limit)
            xq["off_corpus"] = xquad_off_corpus(ask)
            report["xquad"] = xq
    finally:
        cache.save()

    if PERF_NEW_QUESTIONS.exists() and not args.url:
        perf = json.loads(PERF_NEW_QUESTIONS.read_text(encoding="utf-8"))
        report["http_ask_new"] = {k: perf.get(k) for k in ("machine", "questions", "runs", "ask_every_question_new")}
    out_name = args.out or ("eval_url" if args.url else "eval")
    path = RESULTS_DIR / f"{out_name}.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if args.only and not args.no_write and path.exists() else {}
    if previous.get("format") == REPORT_FORMAT:
        merged = {**previous, **report}
        if args.only != "conference" and "latency" in previous:
            merged["latency"] = previous["latency"]
        report = merged
    text = render_markdown(report)
    print(text)
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        (RESULTS_DIR / f"{out_name}.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
