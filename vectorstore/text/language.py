"""Which language a question is in: German or English (the two the users write).

A question is English when it has clearly more English than German function words;
everything else, including bare keywords such as "PLANTA", is treated as German,
the language of the corpus.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["de", "en"]

_EN = frozenset(
    "the a an of in on at to for by with from who whom whose what which when where why how is are was were "
    "did does do has have had be been can could would should will this that these those about did presented "
    "tell me please and or it its their there any many much".split()
)
_DE = frozenset(
    "der die das den dem des ein eine einen einem einer und oder wer wen wem was wann wo wie warum welche welcher "
    "welches ist sind war waren hat haben hatte wurde wurden wird im in am auf für mit von vom zu zum zur bei "
    "nach über unter gibt es sich nicht auch noch kann können sie ich".split()
)
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")


def detect_language(text: str) -> Language:
    """'en' or 'de' for a question."""
    words = [w.lower() for w in _WORD.findall(text)]
    if any(ch in text for ch in "äöüÄÖÜß"):
        german_bonus = 1
    else:
        german_bonus = 0
    en = sum(w in _EN for w in words)
    de = sum(w in _DE for w in words) + (german_bonus if en < 2 else 0)
    return "en" if en > de else "de"


# --------------------------------------------------------------------------- event vocabulary
#
# A small bilingual vocabulary of event reports. It lets an English question be checked
# against German evidence (and German synonyms against each other): "moderated" must
# meet "moderiert", "presented" meets "präsentierte" or "vorgestellt". Groups marked
# required name predicates that decide an answer: if a question uses one, the evidence
# must too ("Who moderated the panel?" is not answered by a sentence listing the panel).

from dataclasses import dataclass  # noqa: E402
from functools import lru_cache  # noqa: E402

_CONCEPTS: list[tuple[str, bool, str]] = [
    ("present", True, "präsentieren präsentiert präsentierte vorgestellt vorstellen stellte vorgestellte zeigte zeigten zeigen "
     "vorgetragen informierten informierte vortrag impulsvortrag presented present introduced "
     "showed shown show demonstrated talked talk spoke speech"),
    ("organise", True, "organisiert organisierte organisieren organisator ausgerichtet ausrichter "
     "organised organized organiser organizer organising co-organised"),
    ("moderate", True, "moderiert moderierte moderation moderator moderatorin moderieren moderated moderating chaired chair"),
    ("open", True, "eröffnet eröffnete eröffnung eröffnen auftakt begrüßung begrüßte opened opening open kicked kick welcomed"),
    ("photo", True, "foto fotos fotografiert fotograf bild bilder galerie gallerie photo photos photographs pictures images gallery"),
    ("fee", True, "gebühr teilnahmegebühr kosten kostete preis fee fees cost costs price"),
    ("link", True, "link url adresse webadresse internetadresse http https"),
    ("weather", True, "wetter wettervorhersage weather forecast"),
    ("model", True, "sprachmodell modell llm gpt model"),
    ("founded", True, "gegründet gründung gründete founded established"),
    ("born", True, "geboren geburt born birth"),
    ("book", True, "buch bücher book books wrote"),
    ("takeplace", False, "take place took held statt fand findet stattfinden stattgefunden"),
    ("panel", False, "podium podiumsdiskussion panel debate diskussion discussion diskutierten"),
    ("workshop", False, "workshop workshops"),
    # "nächste" stems to "nach" (the preposition), so it is recognised in questions by a pattern
    # (`service.answering.kinds.fact`), and evidence must use one of these words.
    ("next", True, "kommende kommenden künftige künftigen folgende next upcoming forthcoming"),
    ("participant", False, "teilnehmende teilnehmenden teilnehmer personen leute gäste besucher menschen führungskräfte "
     "participants attendees people guests visitors executives"),
    ("role", False, "funktion rolle position amt präsident präsidentin vorsitzende vorsitzender vorstandsvorsitzende "
     "vorstand sprecher sprecherin referent referentin professor professorin minister ministerin "
     "geschäftsführer geschäftsführerin geschäftsführende leiter leiterin "
     "direktor direktorin staatssekretärin bürgermeister oberbürgermeister role function position job"),
    ("executive", False, "führungskräfte führungskraft executives managers leaders leadership führung"),
    ("quality", False, "qualität qualitäts quality qualitätsbeauftragte"),
    ("ministry", False, "ministerium bundesministerium ministry ministerial"),
    ("jobcentre", False, "jobcenter jobcentre jobcenters centre center"),
    ("agency", False, "bundesagentur agentur agency"),
    ("federal", False, "bund bundes federal"),
    ("employment", False, "arbeit beschäftigung employment labour work"),
    ("day", False, "tag tages tage day days"),
    ("city", False, "stadt city town"),
    ("mayor", False, "bürgermeister oberbürgermeister mayor ex-mayor"),
    ("secretary", False, "staatssekretärin staatssekretär secretary state parlamentarische parlamentarischen parliamentary"),
    ("represent", False, "vertritt vertreter vertreterin vertreterinnen vertretern represent representing representative"),
    ("find", False, "finden finde find bekommen get see"),
    ("parliament", False, "bundestag bundestagsabgeordnete bundestagsabgeordneten abgeordnete parliament lawmaker member"),
    ("evening", False, "abend abendprogramm evening"),
    ("afterwards", True, "anschließend anschließende anschließenden anschluss danach afterwards followed"),
    ("keynote", False, "keynote"),
    ("ai", False, "ki ai künstliche artificial"),
    ("tool", False, "anwendung tool werkzeug werkzeuge tools application assistent assistant"),
    ("change", False, "veränderung veränderungen wandel change transformation"),
    ("method", False, "methode methoden method methods"),
    ("result", True, "ergebnis ergebnisse result results outcome"),
    ("documentation", False, "dokumentation documentation"),
    ("impression", False, "impressionen eindrücke einblick impressions"),
    ("slogan", False, "motto slogan"),
    ("title", False, "titel title"),
    ("future", False, "zukunft future"),
    ("work", False, "arbeit work"),
]


@dataclass(frozen=True)
class Concept:
    """One meaning with its German and English stems; `required` predicates must be in the evidence."""

    name: str
    required: bool
    stems: frozenset[str]
    words: tuple[str, ...] = ()  # the surface words, German and English

    def found_in(self, window_terms: set[str]) -> bool:
        return bool(self.stems & window_terms)


def _build_concepts() -> list[Concept]:
    from vectorstore.text.analysis import terms

    return [
        Concept(name, required, frozenset(terms(words, keep_stopwords=True)), tuple(words.split()))
        for name, required, words in _CONCEPTS
    ]


@lru_cache(maxsize=1)
def concepts() -> tuple[Concept, ...]:
    """The event vocabulary, analysed like index terms (a constant, built on first use)."""
    return tuple(_build_concepts())


def concepts_in(text: str) -> list[Concept]:
    """Concepts whose words occur in `text`."""
    from vectorstore.text.analysis import terms

    found = set(terms(text, keep_stopwords=True))
    return [c for c in concepts() if c.stems & found]


def expand_terms(stems) -> list[str]:
    """`stems` plus the stems of every concept they belong to (German and English)."""
    out = list(dict.fromkeys(stems))
    for concept in concepts():
        if concept.stems & set(stems):
            out.extend(s for s in concept.stems if s not in out)
    return out


@lru_cache(maxsize=8192)
def synonyms(term: str) -> frozenset[str]:
    """The other stems of every concept `term` belongs to ("moderiert" → "moderated", …)."""
    return frozenset(t for t in expand_terms([term]) if t != term)


_SURFACE = re.compile(r"[0-9A-Za-zÄÖÜäöüß]+(?:-[0-9A-Za-zÄÖÜäöüß]+)*")


def keyword_query(question: str, language: Language) -> str:
    """What the German keyword index is searched with for a question.

    German questions as they are. For English ones, English words are noise to German
    BM25, so only what reads the same in a German text is kept: names and acronyms
    (capitalised words after the first), numbers, and the words of the event vocabulary
    for the English words it knows ("slogan" → "Motto", "moderated" → "moderiert").
    """
    if language == "de":
        return question
    kept: list[str] = []
    for i, word in enumerate(_SURFACE.findall(question)):
        if any(ch.isdigit() for ch in word) or sum(ch.isupper() for ch in word) >= 2 or (i > 0 and word[0].isupper()):
            kept.append(word)
    for concept in concepts_in(question):
        kept.extend(concept.words)
    return " ".join(kept)
