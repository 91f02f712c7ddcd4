"""The answering core: one question analysis, one answer kind, one composed answer.

    analysis = QuestionAnalyser(events).run(question, language)
    draft    = <the kind's component>.run(analysis, retrieval)     # pieces or a reason
    answer   = Composer(documents).run(draft, language)

The components are made once per store version (`AnsweringCore(store, …)`) and share
what is worked out per store: the sentence evidence table, the events, the document
layouts. Which component answers is a dispatch table from the question's kind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from service.answering.compose import Answer, AnswerKind, Composer, Draft, Part
from service.answering.events import EventIndex
from service.answering.kinds.definition import DefinitionAnswerer
from service.answering.kinds.fact import AbstentionPolicy, FactAnswerer
from service.answering.kinds.lists import ListAnswerer
from service.answering.kinds.overview import OverviewAnswerer
from service.answering.kinds.reason import ReasonAnswerer
from service.answering.layout import Layouts
from service.answering.question import QuestionAnalysis
from service.answering.scoring import SentenceScorer
from service.evidence import EvidenceTable
from service.retrieval import RetrievalResult
from service.translation import Dictionary
from vectorstore.store import VectorStore


OTHER_EVENTS = {
    "de": "(Diese Antwort bezieht sich auf: {event}. Die Dokumente berichten auch über andere Veranstaltungen; "
          "nennen Sie Veranstaltung oder Jahr, um nach diesen zu fragen.)",
    "en": "(This answer is about: {event}. The documents also report on other events; "
          "name the event or the year to ask about those.)",
}


class AnsweringCore:
    """question analysis + retrieval → `Answer`, by the component of the question's kind."""

    def __init__(
        self, store: VectorStore, events: EventIndex, dictionary: Dictionary | None = None,
        policy: AbstentionPolicy | None = None, scorer: SentenceScorer | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.layouts = Layouts(store.documents)
        self.evidence = EvidenceTable(store)
        self.facts = FactAnswerer(store, self.evidence, events, self.layouts, policy, dictionary, scorer)
        self.composer = Composer(store.documents)
        self.kinds: dict[AnswerKind, Callable[[QuestionAnalysis, RetrievalResult], Draft]] = {
            "fact": self.facts.run,
            "list": ListAnswerer(self.facts).run,
            "definition": DefinitionAnswerer(self.facts).run,
            "reason": ReasonAnswerer(self.facts).run,
            "overview": OverviewAnswerer(self.facts).run,
        }

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Answer:
        if not retrieval.passages:
            return self.composer.run(Draft(analysis.kind, reason="no passages"), analysis.language)
        draft = self.kinds.get(analysis.kind, self.facts.run)(analysis, retrieval)
        answer = self.composer.run(draft, analysis.language, name_event=len(self.events) > 1)
        if not answer.abstained and answer.event and len(self.events) > 1 and (
            (not analysis.scope.narrowed and analysis.about_an_event)  # "die Tagung" among several events
            or len(analysis.scope.events) > 1  # "die Fachtagung" of a series, answered from one of them
        ):  # say which event answered, and that there are others
            note = OTHER_EVENTS[analysis.language].format(event=answer.event)
            answer = replace(answer, answer=f"{answer.answer}\n{note}", parts=[*answer.parts, Part("text", note)])
        return answer
