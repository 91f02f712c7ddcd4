"""A learned judge of candidate sentences: how likely a sentence holds the answer.

The fact answerer's evidence rules decide whether to answer and which sentence to quote
(held out, they beat this model at both: see bench/results/sentence_scorer.md). A fact
answer may quote a second sentence, and which one is decided here: the candidate that a
logistic model over a few signals (similarity, its margin to the best, word coverage,
passage rank, type strength, the rules' verdict, length) finds most likely to hold the
answer, when that probability reaches `second_quote_threshold`.

The weights are data, `data/sentence_scorer.json`, written by the committed training
script `python -m bench.train_sentence_scorer`, which fits them on XQuAD's dev half and the
conference dev part, reports held-out figures by article folds, and records where the
weights come from. Nothing in it knows a document.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Sequence

import numpy as np

FEATURES: tuple[str, ...] = (
    "similarity",        # cosine of question and sentence
    "similarity_gap",    # this sentence's cosine minus the best candidate's
    "lexical",           # share of the question's content words in the sentence (0.5 for its context)
    "passage_rank",      # 1 / (1 + rank of its passage in retrieval)
    "score_gap",         # the rule-based ranking score minus the best one
    "order",             # 1 / (1 + position in that ranking)
    "type_strength",     # the asked-for kind of thing: 0 none, 0.5 in context, 1 in the sentence, 2 full date/place
    "has_type",          # the asked-for kind of thing is in the sentence itself
    "typed_question",    # the question asks for a person, date, number, place, organisation
    "rules_pass",        # every evidence rule holds
    "anchored",          # every name of the question is in the evidence
    "english",           # the question is English (German passages)
    "length",            # log of the sentence length in characters, scaled
)


@dataclass(frozen=True)
class CandidateSignals:
    """The raw signals of one candidate sentence, before they become a feature row."""

    similarity: float
    lexical: float
    passage_rank: int
    score: float
    order: int
    type_strength: float
    has_type: bool
    typed_question: bool
    rules_pass: bool
    anchored: bool
    english: bool
    length: int


def feature_rows(signals: Sequence[CandidateSignals]) -> np.ndarray:
    """One row of `FEATURES` per candidate (gaps are taken against the best of this list)."""
    if not signals:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    best_sim = max(s.similarity for s in signals)
    best_score = max(s.score for s in signals)
    rows = [
        (
            s.similarity, s.similarity - best_sim, s.lexical, 1.0 / (1 + s.passage_rank), s.score - best_score,
            1.0 / (1 + s.order), s.type_strength / 2.0, float(s.has_type), float(s.typed_question),
            float(s.rules_pass), float(s.anchored), float(s.english), math.log(max(s.length, 1)) / 6.0,
        )
        for s in signals
    ]
    return np.asarray(rows, dtype=np.float64)


@dataclass(frozen=True)
class SentenceScorer:
    """Logistic model over `FEATURES`; `second_quote_threshold`: the least probability at which a
    second sentence is quoted."""

    coefficients: tuple[float, ...]
    intercept: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    second_quote_threshold: float
    source: str = ""

    def run(self, rows: np.ndarray) -> np.ndarray:
        """Probability, per row, that the sentence holds the answer."""
        if len(rows) == 0:
            return np.zeros(0)
        z = (rows - np.asarray(self.means)) / np.asarray(self.scales)
        logits = z @ np.asarray(self.coefficients) + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def to_json(self) -> dict:
        return {
            "features": list(FEATURES), "coefficients": list(self.coefficients), "intercept": self.intercept,
            "means": list(self.means), "scales": list(self.scales), "second_quote_threshold": self.second_quote_threshold,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict) -> "SentenceScorer":
        if tuple(data["features"]) != FEATURES:
            raise ValueError("sentence_scorer.json was trained on other features; re-run python -m bench.train_sentence_scorer")
        return cls(
            tuple(data["coefficients"]), float(data["intercept"]), tuple(data["means"]), tuple(data["scales"]),
            float(data["second_quote_threshold"]), str(data.get("source", "")),
        )

    @classmethod
    def bundled(cls) -> "SentenceScorer | None":
        """The committed weights, or None when none are committed yet (the rules alone decide)."""
        path = resources.files("service.answering").joinpath("data/sentence_scorer.json")
        if not path.is_file():
            return None
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
