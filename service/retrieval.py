"""Hybrid retrieval: chunk vectors, sentence vectors and German-aware BM25, fused into one ranking.

Three signals are computed for a pool of candidate chunks (the dense and the keyword
top `candidates`, merged):

- dense: cosine of the question to the chunk vector (title + heading + text);
- sentence: the best cosine of the question to one sentence of the chunk ("max-sim").
  A question usually asks about one sentence; a chunk vector averages it away;
- keyword: BM25 with German analysis and typo correction; an English question is
  searched with its names and numbers plus dictionary translations (`translation`).

An English question's vector is first aligned to German (`vectorstore.embedding.crosslingual`).

The default fusion is relative-score fusion: each signal is scaled to 0..1 over the pool
(BM25 by its maximum) and added with weights, so a passage that BM25 finds far ahead of
all others (a rare name) is not flattened to "rank 1" as reciprocal rank fusion (also
available) would. Weights depend on the question's language, because BM25 over German
text is mostly noise for an English question. They were chosen by grid search on XQuAD
and the conference set (bench/results/eval_grid.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pathlib import Path

import numpy as np

from service.translation import Dictionary, german_words, installed_dictionary
from vectorstore.embedding import Embedder
from vectorstore.embedding.crosslingual import CORPUS_LANGUAGE
from vectorstore.records import Chunk
from vectorstore.settings import Settings
from vectorstore.store import VectorStore
from vectorstore.text.language import Language, keyword_query


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the three rankings in the fused score, per question language.

    The configurable ones default to `Settings`' defaults (one place per default); build the
    configured weights with `from_settings`."""

    dense: float = 1.0
    sentence_de: float = Settings.sentence_weight_de
    sentence_en: float = Settings.sentence_weight_en
    keyword_de: float = Settings.keyword_weight_de
    keyword_en: float = Settings.keyword_weight_en
    method: str = Settings.fusion  # "relative" or "rrf"
    rrf_k: int = 60
    candidates: int = Settings.fusion_candidates
    answer_pool: int = 20  # passages whose sentences the answer builder may quote
    crosslingual_shift: float = Settings.crosslingual_shift  # see vectorstore/embedding/crosslingual.py; 0 turns it off
    translations_per_word: int = 3  # German words per English word in the keyword query (service/translation.py)

    def keyword(self, language: Language) -> float:
        return self.keyword_de if language == "de" else self.keyword_en

    def sentence(self, language: Language) -> float:
        return self.sentence_de if language == "de" else self.sentence_en

    @classmethod
    def from_settings(cls, settings: Settings) -> "FusionWeights":
        """The weights configured by the TAGUNGSBOT_FUSION_* / *_WEIGHT_* variables."""
        return cls(
            sentence_de=settings.sentence_weight_de,
            sentence_en=settings.sentence_weight_en,
            keyword_de=settings.keyword_weight_de,
            keyword_en=settings.keyword_weight_en,
            method=settings.fusion,
            candidates=settings.fusion_candidates,
            crosslingual_shift=settings.crosslingual_shift,
        )


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the scores of the rankings."""

    row: int
    chunk: Chunk
    score: float
    dense: float | None
    keyword: float | None
    sentence: float | None = None


@dataclass(frozen=True)
class RetrievalResult:
    passages: list[Passage]
    query_vector: np.ndarray
    sentence_scores: dict[int, float] = field(default_factory=dict)
    pool: list[Passage] = field(default_factory=list)  # the best candidates beyond k, for answer selection
    translations: dict[str, list[str]] = field(default_factory=dict)  # English word → German words searched

    def sentence_similarities(self, store: VectorStore, rows: list[int]) -> list[float]:
        """Cosine of the question to the given sentence rows (computed at retrieval when known)."""
        missing = [r for r in rows if r not in self.sentence_scores]
        if missing:
            sims = np.asarray(store.sentence_vectors[missing]) @ self.query_vector
            self.sentence_scores.update(zip(missing, sims.tolist()))
        return [self.sentence_scores[r] for r in rows]


class HybridRetriever:
    """question → ranked passages of one loaded store.

    `weights` and `dictionary` come from the caller's settings (the service passes them);
    left out, they are the defaults of `Settings`, never the environment."""

    def __init__(
        self, store: VectorStore, embedder: Embedder, weights: FusionWeights | None = None,
        dictionary: Dictionary | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.dictionary = dictionary if dictionary is not None else installed_dictionary(
            Settings.dictionary_path, Path(Settings.model_cache_dir)
        )

    def run(self, question: str, k: int, language: Language) -> RetrievalResult:
        w = self.weights
        query_vector = self.query_vector(question, language)
        pool = max(k, w.candidates)
        dense_rows, _ = self.store.search(query_vector, pool)
        translations = self.translations(question, language)
        keyword_hits = self.store.keyword.search(self.keyword_query(question, language, translations), pool)
        rows = np.asarray(sorted(set(dense_rows.tolist()) | set(keyword_hits.rows.tolist())), dtype=np.int64)
        if len(rows) == 0:
            return RetrievalResult([], query_vector, translations=translations)
        dense = np.asarray(self.store.vectors[rows]) @ query_vector
        sentence, sentence_scores = self._sentence_max(rows, query_vector)
        keyword = np.zeros(len(rows), dtype=np.float32)
        position = {int(r): i for i, r in enumerate(rows)}
        for row, score in zip(keyword_hits.rows.tolist(), keyword_hits.scores.tolist()):
            keyword[position[row]] = score
        weights = [w.dense, w.sentence(language), w.keyword(language)]
        if w.method == "rrf":
            fused = fuse_rrf([dense, sentence, keyword], weights, w.rrf_k)
        else:
            fused = fuse_relative(dense, sentence, keyword, weights)
        order = np.lexsort((rows, -fused))[: max(k, w.answer_pool)]
        best = float(fused[order[0]]) if len(order) and fused[order[0]] > 0 else 1.0
        ranked = [
            Passage(
                row=int(rows[i]),
                chunk=self.store.chunks[int(rows[i])],
                score=round(float(fused[i]) / best, 4),
                dense=float(dense[i]),
                keyword=float(keyword[i]) if keyword[i] > 0 else None,
                sentence=float(sentence[i]),
            )
            for i in order
        ]
        return RetrievalResult(ranked[:k], query_vector, sentence_scores, pool=ranked, translations=translations)

    def translations(self, question: str, language: Language) -> dict[str, list[str]]:
        """The dictionary's German words per word of a question not in the corpus language."""
        if language == CORPUS_LANGUAGE or not len(self.dictionary):
            return {}
        return self.dictionary.by_word(question, self.store.keyword.vocabulary, self.weights.translations_per_word)

    def keyword_query(self, question: str, language: Language, translations: dict[str, list[str]] | None = None) -> str:
        """What BM25 is searched with: a German question as it is; an English one as its names,
        numbers and event vocabulary plus the dictionary's German words for it (`translation`)."""
        if translations is None:
            translations = self.translations(question, language)
        return " ".join([keyword_query(question, language), *german_words(translations)]).strip()

    def query_vector(self, question: str, language: Language) -> np.ndarray:
        """The question's vector; a question not in the corpus language is aligned to it."""
        vector = self.embedder.encode_query(question)
        if language == CORPUS_LANGUAGE or self.weights.crosslingual_shift == 0:
            return vector
        return self.embedder.aligner().run(vector, language, self.weights.crosslingual_shift)

    def _sentence_max(self, rows: np.ndarray, query_vector: np.ndarray) -> tuple[np.ndarray, dict[int, float]]:
        """Best sentence cosine per chunk row, and the cosine of every sentence looked at."""
        ranges = [self.store.sentence_rows(int(r)) for r in rows]
        flat = [s for rng in ranges for s in rng]
        best = np.zeros(len(rows), dtype=np.float32)
        if not flat:
            return best, {}
        sims = np.asarray(self.store.sentence_vectors[flat]) @ query_vector
        lengths = np.fromiter((len(rng) for rng in ranges), dtype=np.int64, count=len(ranges))
        starts = np.cumsum(lengths) - lengths
        filled = lengths > 0
        best[filled] = np.maximum.reduceat(sims, starts[filled])  # max over each chunk's sentences
        return best, dict(zip(flat, sims.tolist()))


def _minmax(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return x
    low, high = float(x.min()), float(x.max())
    return (x - low) / (high - low or 1.0)


def _bymax(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if len(x) else 0.0
    return x / top if top > 0 else x


def fuse_relative(dense: np.ndarray, sentence: np.ndarray, keyword: np.ndarray, weights: list[float]) -> np.ndarray:
    """Relative-score fusion: cosines min-max scaled over the pool, BM25 divided by its maximum
    (so a far-ahead BM25 hit keeps its lead), then added with `weights` (dense, sentence, keyword)."""
    return weights[0] * _minmax(dense) + weights[1] * _minmax(sentence) + weights[2] * _bymax(keyword)


def fuse_rrf(signals: list[np.ndarray], weights: list[float], rrf_k: int = 60) -> np.ndarray:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings."""
    fused = np.zeros(len(signals[0]), dtype=np.float64)
    for signal, weight in zip(signals, weights):
        if weight == 0 or not np.any(signal):
            continue
        ranks = np.empty(len(signal), dtype=np.int64)
        ranks[np.argsort(-signal, kind="stable")] = np.arange(1, len(signal) + 1)
        fused += weight / (rrf_k + ranks)
    return fused
