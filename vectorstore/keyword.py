"""BM25 keyword index over chunk texts, with German analysis and typo-tolerant terms.

Built at ingest next to the FAISS index, loaded memory-mapped by the service. A query
term missing from the vocabulary (a typo such as "BAKRIA") is replaced by the closest
vocabulary term when it is close enough, so the keyword side still finds the passage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from vectorstore.text.analysis import terms

logging.getLogger("bm25s").setLevel(logging.WARNING)

_EMPTY_TOKEN = ""


@dataclass(frozen=True)
class KeywordHits:
    """Rows into the chunk list and their BM25 scores, best first."""

    rows: np.ndarray
    scores: np.ndarray


class KeywordIndex:
    """Thin wrapper around `bm25s.BM25` that owns the German analysis of both sides."""

    def __init__(self, bm25: bm25s.BM25, size: int) -> None:
        self._bm25 = bm25
        self._size = size
        vocab = getattr(bm25, "vocab_dict", None) or {}
        self._vocab: dict[str, int] = {k: v for k, v in vocab.items() if k != _EMPTY_TOKEN}
        self._vocab_terms = list(self._vocab)

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        """Index `texts` (row i of the index is texts[i])."""
        bm25 = bm25s.BM25()
        bm25.index([terms(t) or [_EMPTY_TOKEN] for t in texts], show_progress=False)
        return cls(bm25, len(texts))

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> "KeywordIndex":
        bm25 = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        return cls(bm25, size)

    @property
    def vocabulary(self) -> dict[str, int]:
        return self._vocab

    def correct(self, term: str) -> str | None:
        """The vocabulary term closest to an unknown `term`, or None if nothing is close.

        Close means one edit (two for terms of 10+ characters), a swap of neighbours
        counting as one; terms under 6 characters are never corrected ("franc" is not "frank").
        """
        if term in self._vocab:
            return term
        if len(term) < 6 or term.isdigit() or not self._vocab_terms:
            return None
        allowed = 1 if len(term) < 10 else 2
        match = process.extractOne(term, self._vocab_terms, scorer=OSA.distance, score_cutoff=allowed)
        return match[0] if match else None

    def query_terms(self, query: str) -> list[str]:
        """Analysed query terms, typos corrected, unknown terms dropped."""
        out: list[str] = []
        for term in terms(query):
            fixed = self.correct(term)
            if fixed is not None and fixed not in out:
                out.append(fixed)
        return out

    def search(self, query: str, k: int) -> KeywordHits:
        """Top `k` rows by BM25 score; rows with score 0 are left out."""
        q = self.query_terms(query)
        if not q or self._size == 0:
            return KeywordHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return top_k(self._bm25.get_scores(q), k)


def top_k(scores: np.ndarray, k: int) -> KeywordHits:
    """The `k` best rows of a full score array, best first (ties by row); zero scores left out.

    Scoring all rows and selecting with `argpartition` is what `bm25s.retrieve` does too,
    minus its per-call thread pool and progress bar (4 ms of a 10 ms request).
    """
    scores = np.asarray(scores, dtype=np.float32)
    k = min(k, len(scores))
    if k <= 0:
        return KeywordHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    rows = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    rows = rows[np.lexsort((rows, -scores[rows]))]
    rows = rows[scores[rows] > 0]
    return KeywordHits(rows.astype(np.int64), scores[rows])
