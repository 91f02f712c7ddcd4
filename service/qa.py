"""Question answering over one loaded store: the service's core, free of HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Sequence

from service.answering.compose import Answer
from service.answering.conversation import FollowUpResolver, Turn
from service.answering.core import AnsweringCore
from service.answering.events import EventIndex
from service.answering.kinds.fact import AbstentionPolicy
from service.answering.kinds.smalltalk import SmallTalk
from service.answering.question import QuestionAnalyser
from service.answering.scoring import SentenceScorer
from service.answering.suggestions import StarterQuestions
from service.retrieval import FusionWeights, HybridRetriever, Passage
from service.translation import Dictionary
from vectorstore.embedding import Embedder
from vectorstore.store import VectorStore
from vectorstore.text.language import Language, detect_language


BUNDLED = object()  # the default scorer: the committed weights


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
        scorer: SentenceScorer | None | object = BUNDLED,
        dictionary: Dictionary | None = None,
    ) -> None:
        """`weights` and `dictionary`: retrieval's, from the caller's settings (defaults: `Settings`'
        defaults). `scorer`: the learned sentence scorer of fact answers; by default the committed
        weights (`service/answering/data/sentence_scorer.json`), None for the evidence rules alone."""
        self.store = store
        self.retriever = HybridRetriever(store, embedder, weights, dictionary)
        self.events = EventIndex.from_store(store.documents)
        self.starters = StarterQuestions(self.events, store.documents)
        self.followups = FollowUpResolver(self.events)
        self.followups.run("?", [Turn("?", "")], "de")  # loads its name lists now, not in the first request
        self.smalltalk = SmallTalk(self.events, self.starters)
        self.analyser = QuestionAnalyser(self.events)
        chosen = SentenceScorer.bundled() if scorer is BUNDLED else scorer
        self.core = AnsweringCore(store, self.events, self.retriever.dictionary, policy, chosen)  # type: ignore[arg-type]

    @property
    def version(self) -> str:
        return self.store.manifest.version

    def ask(self, question: str, top_k: int, history: Sequence = ()) -> AskResult:
        """Answer `question`; `history` holds the earlier turns (objects or dicts with `question`
        and `answer`), against which a follow-up is resolved into a standalone question."""
        began = time.perf_counter()
        language = detect_language(question)
        chat = self.smalltalk.run(question, language)  # before follow-ups: "Hallo!" needs no history
        if chat is not None:
            answer = Answer(answer=chat.text, abstained=False, citations=[], language=language, kind="smalltalk",
                            reason=chat.intent, resolved_question=question, suggestions=list(chat.suggestions))
            return AskResult(answer, [], _ms(began))
        resolution = self.followups.run(question, [_turn(t) for t in history], language)
        if resolution.clarify:
            answer = Answer(answer=resolution.clarify, abstained=False, citations=[], language=language, kind="clarify",
                            resolved_question=question)
            return AskResult(answer, [], _ms(began))
        text = resolution.question
        analysis = self.analyser.run(text, language)
        retrieval = self.retriever.run(text, top_k, language)
        answer = replace(self.core.run(analysis, retrieval), resolved_question=text)
        return AskResult(answer, retrieval.passages, _ms(began))

    def search(self, query: str, k: int) -> SearchResultSet:
        began = time.perf_counter()
        language = detect_language(query)
        retrieval = self.retriever.run(query, k, language)
        return SearchResultSet(retrieval.passages, language, (time.perf_counter() - began) * 1000)


def _ms(began: float) -> float:
    return (time.perf_counter() - began) * 1000


def _turn(turn: object) -> Turn:
    """An earlier turn from the API's model, a dict (evaluation sets) or a `Turn`."""
    if isinstance(turn, Turn):
        return turn
    if isinstance(turn, dict):
        return Turn(str(turn.get("question", "")), str(turn.get("answer", "")))
    return Turn(str(getattr(turn, "question", "")), str(getattr(turn, "answer", "")))
