"""The BM25 side of the Milvus backend: chunk-side term weights and the query's IDF weights.

Keyword scores are Lucene BM25, as `bm25s` computes them: the chunk side stores
tf / (tf + k1 * (1 - b + b * len / avgdl)) per term, the query side sends the terms'
IDF, and Milvus' inner product over the sparse vectors adds them up. avgdl is the one
at the time a chunk was written; it drifts slightly between full builds.
"""

from __future__ import annotations

import math
from collections import Counter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Mapping

import numpy as np

from vectorstore.keyword import KeywordHits, KeywordIndex
from vectorstore.milvus.schema import MAX_TERM_BYTES
from vectorstore.text.analysis import terms

if TYPE_CHECKING:
    from vectorstore.milvus.reader import MilvusStore

BM25_K1 = 1.5
BM25_B = 0.75
"""BM25 parameters; the same as `bm25s.BM25()` in `keyword.KeywordIndex.build` uses."""


def term_counts(text: str) -> Counter[str]:
    """Keyword terms of a chunk's embedding text and how often each occurs."""
    return Counter(t for t in terms(text) if len(t.encode("utf-8")) <= MAX_TERM_BYTES)


def idf(df: int, n: int) -> float:
    """Lucene IDF, as bm25s computes it."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def chunk_weights(counts: Mapping[str, int], ids: Mapping[str, int], length: int, avgdl: float) -> dict[int, float]:
    """Chunk-side BM25 term weights, keyed by sparse term id."""
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / (avgdl or 1.0))
    return {ids[t]: tf / (tf + norm) for t, tf in counts.items() if t in ids}


class MilvusKeywordIndex(KeywordIndex):
    """BM25 over the sparse vectors in `<set>_chunks`; typo correction as in `KeywordIndex`.

    Query analysis and correction are inherited, so both backends treat a question the
    same way; only the scoring runs in Milvus.
    """

    def __init__(self, store: "MilvusStore", vocabulary: dict[str, tuple[int, int]]) -> None:
        super().__init__(SimpleNamespace(vocab_dict={t: i for t, (i, _df) in vocabulary.items()}), len(store.chunks))  # type: ignore[arg-type]
        self._store = store
        self._terms = vocabulary

    def query_weights(self, query: str) -> dict[int, float]:
        """Sparse query vector: IDF of each (corrected) query term, keyed by term id."""
        n = self._store.published.chunk_count
        weights: dict[int, float] = {}
        for term in self.query_terms(query):
            found = self._terms.get(term)
            if found is not None:
                weights[found[0]] = idf(found[1], n)
        return weights

    def search(self, query: str, k: int) -> KeywordHits:
        weights = self.query_weights(query)
        k = min(k, self._store.published.chunk_count)
        if not weights or k <= 0:
            return KeywordHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        rows, scores = self._store.search_field("sparse", weights, k, {"metric_type": "IP", "params": {}})
        keep = scores > 0
        return KeywordHits(rows[keep], scores[keep])

    def save(self, directory) -> None:  # pragma: no cover - the vocabulary lives in Milvus
        raise TypeError("the Milvus keyword index lives in Milvus and is written by `tagungsbot ingest`")
