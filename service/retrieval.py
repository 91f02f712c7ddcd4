"""Hybrid retrieval: dense vectors and German-aware BM25, fused into one ranking.

Dense retrieval carries English questions over German text; BM25 is precise for German
questions and names. The default fusion is relative-score fusion: each side's scores are
scaled to 0..1 over the candidate pool and added with weights, so a passage that BM25
finds far ahead of all others (a rare name, a date phrase) is not flattened to "rank 1"
as reciprocal rank fusion (also available) would. The keyword weight depends on the
question's language, because BM25 over German text is mostly noise for an English one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.language import Language
from vectorstore.embedding import Embedder
from vectorstore.faiss_store import FaissStore
from vectorstore.records import Chunk


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the two rankings in the fused score, per question language."""

    dense: float = 1.0
    keyword_de: float = 0.7
    keyword_en: float = 0.25
    method: str = "relative"  # or "rrf"
    rrf_k: int = 60
    candidates: int = 50

    def keyword(self, language: Language) -> float:
        return self.keyword_de if language == "de" else self.keyword_en


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the scores of both rankings."""

    row: int
    chunk: Chunk
    score: float
    dense: float | None
    keyword: float | None


@dataclass(frozen=True)
class RetrievalResult:
    passages: list[Passage]
    query_vector: np.ndarray


class HybridRetriever:
    """question → ranked passages of one loaded store."""

    def __init__(self, store: FaissStore, embedder: Embedder, weights: FusionWeights | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.weights = weights or FusionWeights()

    def run(self, question: str, k: int, language: Language) -> RetrievalResult:
        w = self.weights
        query_vector = self.embedder.encode_query(question)
        pool = max(k, w.candidates)
        dense_rows, dense_scores = self.store.search(query_vector, pool)
        keyword_hits = self.store.keyword.search(question, pool)
        dense_of = dict(zip(dense_rows.tolist(), dense_scores.tolist()))
        keyword_of = dict(zip(keyword_hits.rows.tolist(), keyword_hits.scores.tolist()))
        fuse = fuse_rrf if w.method == "rrf" else fuse_relative
        fused = fuse(dense_rows, dense_scores, keyword_hits.rows, keyword_hits.scores, w.dense, w.keyword(language), w.rrf_k)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        best = ranked[0][1] if ranked else 1.0
        passages = [
            Passage(
                row=row,
                chunk=self.store.chunks[row],
                score=round(score / best, 4),
                dense=dense_of.get(row),
                keyword=keyword_of.get(row),
            )
            for row, score in ranked
        ]
        return RetrievalResult(passages, query_vector)


def fuse_relative(
    dense_rows: np.ndarray, dense_scores: np.ndarray, kw_rows: np.ndarray, kw_scores: np.ndarray,
    dense_weight: float, keyword_weight: float, _rrf_k: int = 60,
) -> dict[int, float]:
    """Weighted sum of min-max scaled dense scores and max-scaled BM25 scores."""
    fused: dict[int, float] = {}
    if len(dense_scores):
        low, high = float(dense_scores.min()), float(dense_scores.max())
        span = high - low or 1.0
        for row, score in zip(dense_rows.tolist(), dense_scores.tolist()):
            fused[row] = dense_weight * (score - low) / span
    if len(kw_scores):
        top = float(kw_scores.max()) or 1.0
        for row, score in zip(kw_rows.tolist(), kw_scores.tolist()):
            fused[row] = fused.get(row, 0.0) + keyword_weight * score / top
    return fused


def fuse_rrf(
    dense_rows: np.ndarray, _dense_scores: np.ndarray, kw_rows: np.ndarray, _kw_scores: np.ndarray,
    dense_weight: float, keyword_weight: float, rrf_k: int = 60,
) -> dict[int, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over both rankings."""
    fused: dict[int, float] = {}
    for rank, row in enumerate(dense_rows.tolist()):
        fused[row] = fused.get(row, 0.0) + dense_weight / (rrf_k + rank + 1)
    for rank, row in enumerate(kw_rows.tolist()):
        fused[row] = fused.get(row, 0.0) + keyword_weight / (rrf_k + rank + 1)
    return fused
