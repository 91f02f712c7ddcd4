"""Question answering over one loaded store: the service's core, free of HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Sequence

from service.answering.compose import Answer
from service.answering.core import AnsweringCore
from service.answering.events import EventIndex
from service.answering.suggestions import StarterQuestions
from service.answering.kinds.fact import AbstentionPolicy
from service.answering.question import QuestionAnalyser
from service.language import Language, detect_language
from service.retrieval import FusionWeights, HybridRetriever, Passage
from vectorstore.embedding import Embedder
from vectorstore.store import VectorStore


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
    """Retriever + answering core bound to one immutable store version."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        weights: FusionWeights | None = None,
        policy: AbstentionPolicy | None = None,
    ) -> None:
        self.store = store
        self.retriever = HybridRetriever(store, embedder, weights)
        self.events = EventIndex.from_store(store.documents)
        self.starters = StarterQuestions(self.events, store.documents)
        self.analyser = QuestionAnalyser(self.events)
        self.core = AnsweringCore(store, self.events, self.retriever.dictionary, policy)

    @property
    def version(self) -> str:
        return self.store.manifest.version

    def ask(self, question: str, top_k: int, history: Sequence = ()) -> AskResult:
        began = time.perf_counter()
        language = detect_language(question)
        analysis = self.analyser.run(question, language)
        retrieval = self.retriever.run(question, top_k, language)
        answer = self.core.run(analysis, retrieval)
        answer = replace(answer, resolved_question=question)
        return AskResult(answer, retrieval.passages, (time.perf_counter() - began) * 1000)

    def search(self, query: str, k: int) -> SearchResultSet:
        began = time.perf_counter()
        language = detect_language(query)
        retrieval = self.retriever.run(query, k, language)
        return SearchResultSet(retrieval.passages, language, (time.perf_counter() - began) * 1000)
