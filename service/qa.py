"""Question answering over one loaded store: the service's core, free of HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass

from service.answer import AbstentionPolicy, Answer, AnswerBuilder
from service.language import Language, detect_language
from service.retrieval import FusionWeights, HybridRetriever, Passage
from vectorstore.embedding import Embedder
from vectorstore.faiss_store import FaissStore


@dataclass(frozen=True)
class AskResult:
    answer: Answer
    passages: list[Passage]
    took_ms: float


@dataclass(frozen=True)
class SearchResultSet:
    passages: list[Passage]
    language: Language
    took_ms: float


class QuestionAnswering:
    """Retriever + answer builder bound to one immutable store version."""

    def __init__(
        self,
        store: FaissStore,
        embedder: Embedder,
        weights: FusionWeights | None = None,
        policy: AbstentionPolicy | None = None,
    ) -> None:
        self.store = store
        self.retriever = HybridRetriever(store, embedder, weights)
        self.answers = AnswerBuilder(store, policy, self.retriever.dictionary)

    @property
    def version(self) -> str:
        return self.store.manifest.version

    def ask(self, question: str, top_k: int) -> AskResult:
        began = time.perf_counter()
        language = detect_language(question)
        retrieval = self.retriever.run(question, top_k, language)
        answer = self.answers.run(question, language, retrieval)
        return AskResult(answer, retrieval.passages, (time.perf_counter() - began) * 1000)

    def search(self, query: str, k: int) -> SearchResultSet:
        began = time.perf_counter()
        language = detect_language(query)
        retrieval = self.retriever.run(query, k, language)
        return SearchResultSet(retrieval.passages, language, (time.perf_counter() - began) * 1000)
