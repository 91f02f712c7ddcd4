"""Fit the fact answerer's sentence scorer (service/answering/scoring.py) and report it held out.

    python -m bench.train_sentence_scorer            # collect, cross-validate, write the weights
    python -m bench.train_sentence_scorer --report   # cross-validate only, write nothing to service/

Training data (none of it from a test part):
- XQuAD dev half, German and English questions over the 240 German passages: a candidate
  sentence is positive when it holds a gold answer span and lies in the gold passage;
- the conference set's dev part over the one-report store: positive when it holds the
  question's evidence; its unanswerable questions have no positive candidate;
- the conference dev questions asked of the XQuAD store (off-corpus): no positive candidate.

Every question contributes the candidates the fact answerer checks (their rule verdicts
included), with the scorer switched off. A logistic model (L2, Newton steps, numpy) is
fitted; the second-quote threshold maximises right minus twice wrong answers on the
training folds (the rules still decide whether to answer and the first sentence). Held-out figures come
from 4 article folds of XQuAD (conference questions are spread over the folds by id): for
each fold, weights and threshold are fitted on the other three and applied to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.datasets import ROOT, article_folds, conference_cases, xquad_cases
from bench.judging import folded

WEIGHTS = ROOT / "service" / "answering" / "data" / "sentence_scorer.json"
REPORT = ROOT / "bench" / "results" / "sentence_scorer.md"
ROWS = ROOT / "bench" / "_work" / "sentence_scorer_rows.npz"
FOLDS = 4


@dataclass
class Question:
    """One training question: its candidates' feature rows and labels, and its fold."""

    id: str
    group: str  # "xquad-de", "xquad-en", "conference", "off-corpus"
    fold: int
    rows: np.ndarray
    labels: np.ndarray
    answerable: bool


def _holds(sentence: str, needles) -> bool:
    text = folded(sentence)
    return any(folded(n) in text for n in needles if n)


def collect(settings, log=print) -> list[Question]:
    """Ask every training question with the scorer off; keep each checked candidate's features."""
    from bench.evaluate import VectorCache, cached_embedder
    from bench.stores import WORK_DIR, StoreBuilder
    from service.answering.scoring import feature_rows
    from service.qa import QuestionAnswering
    from vectorstore.faiss_store import FaissStore
    from vectorstore.text.language import detect_language

    cache = VectorCache(WORK_DIR / "vector-cache.npz")
    embedder = cached_embedder(settings, cache)
    stores = StoreBuilder(settings, lambda: embedder)
    xquad = article_folds(xquad_cases("de") + xquad_cases("en"), FOLDS)
    fold_of_article = {a: i for i, fold in enumerate(xquad) for a in fold.articles}
    conference = [c for c in conference_cases() if c.split == "dev"]
    out: list[Question] = []

    def ask(qa: QuestionAnswering, case, group: str, fold: int, positive) -> None:
        language = detect_language(case.question)
        analysis = qa.analyser.run(case.question, language)
        retrieval = qa.retriever.run(case.question, 5, language)
        facts = qa.core.facts
        q = facts.analyse_scoped(analysis, retrieval.translations)
        if isinstance(q, str):
            rows, labels = np.zeros((0, len(feature_rows([]).T))), np.zeros(0)
        else:
            checked = facts.checked(q, retrieval, analysis.scope.doc_ids)
            rows = feature_rows(facts.signals(q, checked.candidates, checked.verdicts))
            labels = np.asarray([float(positive(c)) for c in checked.candidates])
        out.append(Question(case.id, group, fold, rows, labels, case.answerable))

    began = time.perf_counter()
    for name, cases_by_group in (("xquad", None), ("one-report", None)):
        store = FaissStore.load(stores.run(name))
        qa = QuestionAnswering(store, embedder, scorer=None)
        if name == "xquad":
            for lang in ("de", "en"):
                for case in xquad_cases(lang):
                    ask(qa, case, f"xquad-{lang}", fold_of_article[case.article],
                        lambda c, case=case: c.facts.doc_id.startswith(case.passage_id) and _holds(c.text, case.answers))
            for case in conference:  # the XQuAD passages answer none of them
                ask(qa, replace(case, answerable=False), "off-corpus", _fold_of_id(case.id), lambda c: False)
        else:
            for case in conference:
                ask(qa, case, "conference", _fold_of_id(case.id),
                    lambda c, case=case: case.answerable and _holds(c.text, case.evidence))
        log(f"{name}: {len(out)} questions so far ({time.perf_counter() - began:.0f} s)")
    cache.save()
    return out


def _fold_of_id(case_id: str) -> int:
    return int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % FOLDS


# ----------------------------------------------------------------------------- the model


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Coefficients, intercept, means and scales of an L2-regularised logistic regression
    (features standardised; Newton's method)."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    z = np.hstack([(x - means) / scales, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1]), means, scales


def decide(questions: list[Question], probabilities: list[np.ndarray], threshold: float | None) -> dict[str, dict[str, int]]:
    """right / wrong / abstained / second (a second sentence quoted) per group, as the fact
    answerer decides: the first candidate every rule passes is quoted (none: abstain), and
    the best other candidate that holds the question's names is quoted too when its
    probability reaches `threshold` (None: never)."""
    out: dict[str, dict[str, int]] = {}
    rules, anchored = _index("rules_pass"), _index("anchored")
    for q, p in zip(questions, probabilities):
        tally = out.setdefault(q.group, {"right": 0, "wrong": 0, "abstained": 0, "questions": 0, "second": 0})
        tally["questions"] += 1
        passing = [i for i in range(len(q.rows)) if q.rows[i, rules] > 0]
        if not passing:
            tally["abstained" if q.answerable else "right"] += 1
            continue
        quoted = [passing[0]]
        others = [i for i in range(len(q.rows)) if i != passing[0] and q.rows[i, anchored] > 0]
        if threshold is not None and others:
            best = max(others, key=lambda i: p[i])
            if p[best] >= threshold:
                quoted.append(best)
                tally["second"] += 1
        tally["right" if q.answerable and any(q.labels[i] > 0 for i in quoted) else "wrong"] += 1
    return out


def _index(name: str) -> int:
    from service.answering.scoring import FEATURES

    return FEATURES.index(name)


def choose_threshold(questions: list[Question], probabilities: list[np.ndarray]) -> float:
    """The second-quote threshold with the most right answers net of twice the wrong ones, over
    all groups; the higher of equals (fewer second quotes)."""
    best, best_value = 0.95, None
    for threshold in np.arange(0.05, 0.96, 0.05):
        tallies = decide(questions, probabilities, float(threshold))
        value = sum(t["right"] - 2 * t["wrong"] for t in tallies.values())
        if best_value is None or value >= best_value:
            best, best_value = round(float(threshold), 2), value
    return best


def train(questions: list[Question], l2: float):
    from service.answering.scoring import SentenceScorer

    x = np.vstack([q.rows for q in questions if len(q.rows)])
    y = np.concatenate([q.labels for q in questions if len(q.rows)])
    coefficients, intercept, means, scales = fit_logistic(x, y, l2)
    scorer = SentenceScorer(tuple(coefficients.tolist()), intercept, tuple(means.tolist()), tuple(scales.tolist()), 0.5)
    threshold = choose_threshold(questions, [scorer.run(q.rows) for q in questions])
    return SentenceScorer(scorer.coefficients, intercept, scorer.means, scorer.scales, threshold)


def cross_validate(questions: list[Question], l2: float) -> dict:
    totals: dict[str, dict[str, int]] = {}
    folds = []
    for fold in range(FOLDS):
        scorer = train([q for q in questions if q.fold != fold], l2)
        held = [q for q in questions if q.fold == fold]
        tallies = decide(held, [scorer.run(q.rows) for q in held], scorer.second_quote_threshold)
        folds.append({"fold": fold, "threshold": scorer.second_quote_threshold, "groups": tallies})
        for group, t in tallies.items():
            total = totals.setdefault(group, {"right": 0, "wrong": 0, "abstained": 0, "questions": 0, "second": 0})
            for key in total:
                total[key] += t[key]
    return {"folds": folds, "held_out": totals}


def rules_only(questions: list[Question]) -> dict[str, dict[str, int]]:
    """The same decision with the rules alone: one sentence, never a second."""
    return decide(questions, [np.zeros(len(q.rows)) for q in questions], None)


def _table(tallies: dict[str, dict[str, int]]) -> list[str]:
    lines = ["| group | questions | right | wrong | abstained | right share | wrong share | second sentence quoted |",
             "|---|---|---|---|---|---|---|---|"]
    for group in sorted(tallies):
        t = tallies[group]
        n = max(t["questions"], 1)
        lines.append(f"| {group} | {t['questions']} | {t['right']} | {t['wrong']} | {t['abstained']} | "
                     f"{t['right'] / n:.3f} | {t['wrong'] / n:.3f} | {t['second']} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="cross-validate only; leave the committed weights")
    parser.add_argument("--recollect", action="store_true", help="ask the questions again instead of using the cached rows")
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args(argv)

    if ROWS.exists() and not args.recollect:
        data = np.load(ROWS, allow_pickle=True)
        questions = list(data["questions"])
    else:
        from vectorstore.settings import load_settings

        questions = collect(load_settings())

        ROWS.parent.mkdir(parents=True, exist_ok=True)
        np.savez(ROWS, questions=np.asarray(questions, dtype=object))
    cv = cross_validate(questions, args.l2)
    baseline = rules_only(questions)
    scorer = train(questions, args.l2)
    source = (f"python -m bench.train_sentence_scorer (l2={args.l2}); "
              f"{len(questions)} questions: XQuAD dev half de+en, conference dev part, conference dev off-corpus")
    from service.answering.scoring import FEATURES, SentenceScorer

    scorer = SentenceScorer(scorer.coefficients, scorer.intercept, scorer.means, scorer.scales, scorer.second_quote_threshold, source)
    lines = [
        "# Sentence scorer (fact answers)", "",
        f"Trained by `python -m bench.train_sentence_scorer` on {len(questions)} questions; held-out figures "
        f"from {FOLDS} folds (XQuAD by article, conference questions by id), each fold scored by weights and a "
        "threshold fitted on the other three. A question counts right when a quoted sentence holds the answer "
        "(XQuAD: a gold span, in the gold passage; conference: the evidence), or when an unanswerable one is "
        "not answered. This judges the fact answerer's sentence choice alone; `tagungsbot eval` judges whole answers.",
        "", "## Held out (cross-validated)", "", *_table(cv["held_out"]),
        "", "## The rules alone (the first candidate that passes every evidence rule, no second sentence)", "",
        *_table(baseline),
        "", f"Thresholds per fold: {', '.join(str(f['threshold']) for f in cv['folds'])}; "
        f"final threshold {scorer.second_quote_threshold}.", "",
        "## Final weights (standardised features)", "", "| feature | coefficient |", "|---|---|",
        *[f"| {name} | {c:+.3f} |" for name, c in zip(FEATURES, scorer.coefficients)],
        f"| (intercept) | {scorer.intercept:+.3f} |",
    ]
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if not args.report:
        WEIGHTS.write_text(json.dumps(scorer.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"weights written to {WEIGHTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
