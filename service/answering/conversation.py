"""Follow-up questions: rewrite "Und wann?" into the standalone question it means.

A chat has turns, and people leave out what the previous turn already said: a pronoun
("Was hat sie noch gesagt?", "Who presented it?"), a possessive ("seine zentrale
Botschaft"), a list position ("the first person on that list"), or everything but the new
part ("Und 2023?", "und PLANTA?", "Und wo?"). `FollowUpResolver` finds those cues (the
closed word classes in `data/followup_cues.tsv`) and fills them from the earlier turns:

* referents are the people (`entities.people`), quoted titles, acronyms, places and years
  of the previous question (most likely), then of the first sentence of its answer (the
  lead), then of the rest of the answer, then of older questions;
* a pronoun takes the one referent of its kind that fits (gender of the first name for
  er/sie, he/she); several equally likely people, or none at all, give a `clarify`
  question back instead of a guess;
* an elliptic fragment substitutes into the previous question: a year replaces its year,
  a name or title its name or title, a question word its question word;
* the event the previous question named (`EventIndex.scope`) is kept, in the user's own
  words, when the follow-up names none.

A question that names its own subject and has no cue stands on its own: it comes back
unchanged with `followup=False`, history or not. Greetings and thanks are for
`SmallTalk`, which should see the question first.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from service.answering.events import EventIndex
from vectorstore.text.analysis import fold, terms
from vectorstore.text.entities import is_place, people
from vectorstore.text.language import Language

CUES_PATH = Path(__file__).with_name("data") / "followup_cues.tsv"

_TOKEN = re.compile(r"(?:Dr|Prof)\.|[0-9A-Za-zÄÖÜäöüßÀ-ÿ][\w’'/-]*")
_YEAR = re.compile(r"(?<!\d)(?:19[5-9]\d|20\d\d)(?!\d)")
_QUOTED = re.compile(r"„([^„“\"”]{1,60})“|“([^“”„]{1,60})”|\"([^\"„“]{1,60})\"|«([^«»]{1,60})»|‚([^‚‘]{1,40})‘")
_ACRONYM = re.compile(r"^(?=\w*[A-ZÄÖÜ]\w*[A-ZÄÖÜ0-9])[A-ZÄÖÜ][\w/-]*$")
_ROMAN = re.compile(r"^[IVX]+$")
_SENTENCE_END = re.compile(r"(?<!Dr)(?<!Prof)(?<!\b[A-Z])[.!?:](?=\s|$)")
_ARTICLES = {"de": {"der", "die", "das", "den", "dem", "des"}, "en": {"the"}}
_PREPOSITIONS = {
    "de": {"bei", "beim", "auf", "im", "in", "am", "an", "zur", "zum", "während", "vom", "von"},
    "en": {"at", "of", "in", "during", "on", "for", "from"},
}
_EXPLETIVE_VERBS = {"gibt", "gab", "gäbe", "geben", "ging", "geht", "gehen", "handelt", "handelte"}
_PERSON_WH = {"wer", "wen", "wem", "who", "whom"}
_EN_NOT_NOUN = {"to", "in", "on", "at", "for", "from", "with", "about", "and", "or", "as", "by", "again", "there", "then"}
_ARTICLE_GENDERS = {
    "der": frozenset({"m", "f"}), "den": frozenset({"m", "pl"}), "dem": frozenset({"m", "n"}), "des": frozenset({"m", "n"}),
    "die": frozenset({"f", "pl"}), "das": frozenset({"n"}), "beim": frozenset({"m", "n"}), "zum": frozenset({"m", "n"}),
    "im": frozenset({"m", "n"}), "vom": frozenset({"m", "n"}), "am": frozenset({"m", "n"}), "zur": frozenset({"f"}),
}
"""German articles (and preposition + article) with the genders they allow (pl: plural)."""
_FUNCTION_WORDS = {
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "the", "a", "an",
    "bei", "beim", "auf", "im", "in", "am", "an", "zur", "zum", "vom", "von", "für", "mit", "über", "jahr",
    "at", "of", "on", "for", "from", "with", "about", "und", "oder", "and", "or", "year",
}
"""Articles, prepositions and conjunctions: what an elliptic phrase ("Und im Jahr 2023?") may hold besides names."""
_EN_VERBS = {"take", "place", "held", "happen", "start", "begin", "end", "took", "go", "went", "say", "said"}
_EN_AUX = {"is", "was", "were", "are", "did", "does", "do", "has", "had", "have", "can", "could", "will", "would"}


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation."""

    question: str
    answer: str


@dataclass(frozen=True)
class Resolution:
    """The standalone question to answer; `clarify` is a question back when that is not clear."""

    question: str
    followup: bool
    clarify: str | None = None


@dataclass(frozen=True)
class FollowUpCues:
    """The cue words of `followup_cues.tsv`, by kind and language."""

    words: dict[tuple[str, str], frozenset[str]]
    ordinals: dict[str, int]

    @classmethod
    def from_file(cls, path: Path = CUES_PATH) -> "FollowUpCues":
        found: dict[tuple[str, str], set[str]] = {}
        ordinals: dict[str, int] = {}
        with path.open(encoding="utf-8") as handle:
            for row in csv.reader((line for line in handle if line.strip() and not line.startswith("#")), delimiter="\t"):
                if len(row) < 3:
                    raise ValueError(f"{path}: a cue line needs language, kind and cue, got {row!r}")
                language, kind, cue = row[0].strip(), row[1].strip(), row[2].strip().lower()
                found.setdefault((language, kind), set()).add(cue)
                if kind == "ordinal":
                    ordinals[cue] = int(row[3])
        return cls({key: frozenset(value) for key, value in found.items()}, ordinals)

    def of(self, kind: str, language: str) -> frozenset[str]:
        return self.words.get((language, kind), frozenset())

    def any_language(self, kind: str) -> frozenset[str]:
        return self.of(kind, "de") | self.of(kind, "en")


@dataclass(frozen=True)
class _Tok:
    text: str
    low: str
    start: int
    end: int


@dataclass(frozen=True)
class _Referent:
    """Something a pronoun may point to: a person, a thing (title, acronym, name, noun), a place."""

    text: str
    kind: str
    rank: int
    gender: str | None = None
    start: int = -1
    end: int = -1


@dataclass
class _EventPhrase:
    """The words a question used for its event, and whether they start with a preposition."""

    text: str
    with_preposition: bool
    start: int = -1
    end: int = -1
    genders: frozenset[str] = frozenset()
    """Grammatical genders its article allows (German): a pronoun of another gender does not mean it."""

    def appended(self) -> str:
        if self.with_preposition:
            first, _, rest = self.text.partition(" ")
            if first.lower() in {"of", "on", "for", "from"}:
                return f" at {rest}"  # "the panel of the conference" → "… at the conference"
            return " " + self.text
        return f" ({self.text})"


@dataclass
class _Cue:
    kind: str  # person | thing | demonstrative | place | listref | possessive-person | ...
    start: int
    end: int
    word: str
    genders: frozenset[str] = field(default_factory=frozenset)
    possessive: bool = False
    position: int = 0


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(), m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


@lru_cache(maxsize=1)
def _gender_detector():
    import gender_guesser.detector as gender

    return gender.Detector(case_sensitive=False)


def _gender(name: str) -> str | None:
    """'m', 'f' or None (unknown) from the first name of `name`."""
    parts = [p for p in name.split() if p not in {"Dr.", "Prof."}]
    if not parts:
        return None
    guess = _gender_detector().get_gender(parts[0].split("-")[0])
    if guess in {"male", "mostly_male"}:
        return "m"
    if guess in {"female", "mostly_female"}:
        return "f"
    return None


def _genitive(name: str, language: str) -> str:
    if language == "en":
        return f"{name}'s"
    return f"{name}’" if name[-1] in "sßxzSXZ" else f"{name}s"


def _join(names: list[str], language: str) -> str:
    word = "and" if language == "en" else "und"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _either(names: list[str], language: str) -> str:
    word = "or" if language == "en" else "oder"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _end_punctuation(text: str) -> tuple[str, str]:
    """`text` without its closing punctuation, and that punctuation ('?' when there is none)."""
    stripped = text.rstrip()
    m = re.search(r"[?!.]+$", stripped)
    if m:
        return stripped[: m.start()].rstrip(), m.group()
    return stripped, "?"


# "Und welches hat …?" after "Welches Jobcenter hat …?": the bare interrogative takes the noun the
# previous question asked about ("Welches Jobcenter hat …?"). General grammar, German and English.
_BARE_WHICH = re.compile(
    r"^(?P<lead>\s*(?:und|and)?\s*)(?P<which>welche[rsnm]?|which(?:\s+one)?)\s+(?=(?:hat|haben|hatte|hatten|ist|sind|war|waren|"
    r"wird|wurde|wurden|kann|können|did|does|do|is|are|was|were|has|have|had|can)\b)",
    re.I,
)
_ASKED_NOUN = re.compile(
    r"\b(?:welche[rsnm]?\s+(?P<de>[\w-]+)|which\s+(?P<en>[\w-]+(?:\s+(?!(?:did|does|do|is|are|was|were|has|have|had|"
    r"can|will|would|took|gave|made)\b)[\w-]+(?<!ed)\b)?))",
    re.I,
)


def _carry_asked_noun(question: str, previous: str) -> str:
    """`question` with the noun of the previous "which X" question after its bare "welches"/"which"."""
    bare = _BARE_WHICH.match(question)
    asked = _ASKED_NOUN.search(previous)
    if not bare or not asked:
        return question
    which = re.sub(r"\s+one$", "", bare.group("which"), flags=re.I)
    return f"{bare.group('lead')}{which} {asked.group('de') or asked.group('en')} {question[bare.end():]}"


class FollowUpResolver:
    """Rewrites a follow-up question into a standalone one, using the earlier turns."""

    def __init__(self, events: EventIndex, cues: FollowUpCues | None = None, max_turns: int = 3) -> None:
        self.events = events
        self.cues = cues or FollowUpCues.from_file()
        self.max_turns = max_turns

    # ------------------------------------------------------------------ entry point
    def run(self, question: str, history: Sequence[Turn], language: Language) -> Resolution:
        text = question.strip()
        turns = list(history)[-self.max_turns:]
        if not turns or not text:
            return Resolution(text, False)
        lang = "en" if language == "en" else "de"
        text = _carry_asked_noun(text, turns[-1].question)
        toks = _tokens(text)
        opener = self._opener(toks, lang)
        own = self._own_subjects(text, toks, lang, opener)
        fragment = self._fragment(text, toks, lang, opener)
        cues = [] if fragment else self._cues(text, toks, lang, own)
        event = self._event_of_history(turns)

        if fragment is not None:
            return self._resolve_fragment(text, fragment, turns, lang, event)
        if not cues:
            if opener == 0 and (own or event is None):
                return Resolution(text, False)
            if own and opener:
                return Resolution(text, False)
            body = self._without_opener(text, toks, opener)
            if event is None:
                return Resolution(body, body != text)
            return Resolution(self._with_event(body, event), True)
        return self._resolve_cues(text, toks, opener, cues, turns, lang, event, own)

    # ------------------------------------------------------------------ analysis of the new question
    def _opener(self, toks: list[_Tok], lang: str) -> int:
        """How many leading tokens form an ellipsis opener ("und", "what about"), 0 if none."""
        best = 0
        for phrase in self.cues.any_language("opener"):
            words = phrase.split()
            if len(words) <= len(toks) and [t.low for t in toks[: len(words)]] == words:
                best = max(best, len(words))
        return best

    def _question_phrase(self, toks: list[_Tok], at: int) -> int:
        """Length of the question word or phrase starting at token `at`, 0 if none."""
        best = 0
        for phrase in self.cues.any_language("question"):
            words = phrase.split()
            if [t.low for t in toks[at: at + len(words)]] == words:
                best = max(best, len(words))
        return best

    def _own_subjects(self, text: str, toks: list[_Tok], lang: str, opener: int) -> set[str]:
        """Kinds of subject the question names itself: person, thing, place, event."""
        own: set[str] = set()
        if people(text):
            own.add("person")
        if _QUOTED.search(text) or any(self._is_acronym(t) for t in toks):
            own.add("thing")
        if lang == "en" and any(self._is_proper(toks, i, lang) for i in range(len(toks))):
            own.add("thing")
        if any(is_place(t.text) for t in toks):
            own.add("place")
        if self._names_event(text):
            own.add("event")
        return own

    def _names_event(self, text: str) -> bool:
        """`text` names an event by its name words or a year, not only by a general word ("das Forum")."""
        if _YEAR.search(text):
            return True
        nouns = self.cues.any_language("event_noun")
        kept = " ".join(t.text for t in _tokens(text) if t.low not in nouns)
        return self.events.scope(kept).narrowed

    def _is_acronym(self, tok: _Tok) -> bool:
        return bool(_ACRONYM.match(tok.text)) and not _ROMAN.match(tok.text) and not _YEAR.fullmatch(tok.text)

    def _is_proper(self, toks: list[_Tok], i: int, lang: str) -> bool:
        """An English capitalised word inside the sentence: a name or title."""
        tok = toks[i]
        if i == 0 or not tok.text[:1].isupper() or tok.text == "I":
            return False
        if tok.low in self.cues.of("question", "en") or tok.text in {"Dr.", "Prof."}:
            return False
        return True

    def _fragment(self, text: str, toks: list[_Tok], lang: str, opener: int) -> dict | None:
        """An elliptic question: a question word alone ("Und wann?") or a bare phrase ("Und 2023?")."""
        rest = toks[opener:]
        if not rest:
            return None
        fillers = self.cues.any_language("filler")
        wh = self._question_phrase(toks, opener)
        if wh:
            if all(t.low in fillers for t in rest[wh:]) and len(rest) <= 4:
                return {
                    "type": "wh",
                    "wh": " ".join(t.text for t in rest[:wh]),
                    "fillers": [t.text for t in rest[wh:]],
                }
            return None
        if any(self._question_phrase(toks, i) for i in range(opener, len(toks))):
            return None
        content = [t for t in rest if t.low not in fillers]
        if not content:
            return None
        lowercase = [t for t in content if t.text.islower() and t.low not in _FUNCTION_WORDS and not _YEAR.fullmatch(t.text)]
        if opener and len(rest) <= 6 and not lowercase or all(_YEAR.fullmatch(t.text) for t in content):
            first, last = content[0], content[-1]
            end = last.end
            tail = text[end:]
            m = re.match(r"[“”\"«»‘’]+", tail)
            if m:
                end += m.end()
            start = first.start
            if start > 0 and text[start - 1] in "„“\"«‚":
                start -= 1
            return {"type": "np", "np": text[start:end]}
        return None

    def _cues(self, text: str, toks: list[_Tok], lang: str, own: set[str]) -> list[_Cue]:
        """Pronouns, possessives, demonstratives, place adverbs and list positions in the question."""
        c = self.cues
        found: list[_Cue] = []
        taken: set[int] = set()
        for i, span in self._list_positions(toks, lang):
            found.append(_Cue("listref", toks[i].start, toks[span - 1].end, text[toks[i].start: toks[span - 1].end],
                              position=c.ordinals[toks[self._ordinal_index(toks, i, span)].low]))
            taken.update(range(i, span))
        for i, tok in enumerate(toks):
            if i in taken:
                continue
            low = tok.low
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            capital_formal = tok.text[:1].isupper() and i > 0
            genders: set[str] = set()
            if low in c.of("person_m", lang):
                genders.add("m")
            if low in c.of("person_f", lang):
                if lang == "de" and capital_formal:
                    continue  # "Sie", "Ihre": the formal address, not a pronoun
                genders.add("f")
                if lang == "de" and self._plural_verb(toks, i):
                    genders = {"pl"}
                elif lang == "de":
                    genders.add("pl?")
            if low in c.of("person_pl", lang):
                genders.add("pl")
            possessive = low in c.of("possessive", lang) and nxt is not None
            if low == "sein" and lang == "de" and not possessive:
                continue  # "sein" as the verb ("Was soll das sein?")
            if possessive and lang == "en" and low == "her" and nxt.low in _EN_NOT_NOUN:
                possessive = False  # "her" as the object ("Who invited her to …?")
            if genders and "person" not in own:
                found.append(_Cue("person", tok.start, tok.end, tok.text, frozenset(genders), possessive))
                continue
            if low in c.of("thing", lang):
                if lang == "de" and low == "es" and self._expletive(toks, i):
                    continue
                if "thing" not in own:
                    found.append(_Cue("thing", tok.start, tok.end, tok.text, possessive=possessive))
                continue
            if low in c.of("demonstrative", lang):
                cue = self._demonstrative(text, toks, i, lang, own)
                if cue is not None:
                    found.append(cue)
                    taken.update(range(i, i + 2) if cue.kind == "event" else range(i, i + 1))
                continue
            if low in c.of("place_adverb", lang) and "event" not in own and "place" not in own:
                found.append(_Cue("place", tok.start, tok.end, tok.text))
        return found

    def _plural_verb(self, toks: list[_Tok], i: int) -> bool:
        """German "sie" next to a plural finite verb ("haben sie", "sie kamen") means several people."""
        for j in (i - 1, i + 1):
            if 0 <= j < len(toks):
                word = toks[j]
                if word.text.islower() and word.low.endswith("en") and len(word.low) > 3 and j != len(toks) - 1:
                    return True
                if word.low in {"sind", "waren", "haben", "hatten", "wurden", "werden"}:
                    return True
        return False

    @staticmethod
    def _expletive(toks: list[_Tok], i: int) -> bool:
        """German "es" of "gibt es", "ging es um": no referent."""
        near = {toks[j].low for j in (i - 1, i + 1) if 0 <= j < len(toks)}
        return bool(near & _EXPLETIVE_VERBS)

    def _demonstrative(self, text: str, toks: list[_Tok], i: int, lang: str, own: set[str]) -> _Cue | None:
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        after = toks[i + 2] if i + 2 < len(toks) else None
        if nxt is not None and nxt.low in self.cues.of("event_noun", lang) | self.cues.of("event_noun", "en"):
            if "event" in own:
                return None
            return _Cue("event", tok.start, nxt.end, text[tok.start: nxt.end])
        if lang == "de":
            if tok.low == "das" or tok.low.startswith("dies") or tok.low.startswith("jen"):
                determiner = nxt is not None and (
                    nxt.text[:1].isupper()
                    or (re.search(r"(e|en|er|es|em)$", nxt.low) and after is not None and after.text[:1].isupper())
                )
                if tok.low == "das" and determiner:
                    return None
                if determiner:
                    return None if "thing" in own else _Cue("thing-np", tok.start, tok.end, tok.text)
        if "thing" in own or "person" in own:
            return None
        return _Cue("demonstrative", tok.start, tok.end, tok.text)

    def _list_positions(self, toks: list[_Tok], lang: str) -> list[tuple[int, int]]:
        """Spans like "the first person on that list", "die erste Person", "der Letzte"."""
        c = self.cues
        spans: list[tuple[int, int]] = []
        articles = _ARTICLES["de"] | _ARTICLES["en"]
        person_nouns = c.any_language("person_noun")
        for i, tok in enumerate(toks):
            if tok.low not in articles or i + 1 >= len(toks) or toks[i + 1].low not in c.ordinals:
                continue
            j = i + 2
            if j < len(toks) and toks[j].low in person_nouns:
                j += 1
            elif j < len(toks) and (toks[j].text[:1].isupper() and lang == "de" or lang == "en" and toks[j].low not in self._en_clause_words()):
                continue  # "das erste Forum": an ordinal of another noun, not a list position
            # optional "on that list" / "auf der Liste"
            if j + 2 < len(toks) and toks[j + 2].low in c.any_language("list_noun"):
                j += 3
            spans.append((i, j))
        return spans

    @staticmethod
    def _en_clause_words() -> set[str]:
        return {"on", "in", "from", "of", "at", "hold", "held", "did", "do", "does", "say", "said", "present",
                "presented", "is", "was", "come", "came", "work", "works", "worked", "represent", "represented"}

    def _ordinal_index(self, toks: list[_Tok], i: int, span: int) -> int:
        return next(k for k in range(i, span) if toks[k].low in self.cues.ordinals)

    # ------------------------------------------------------------------ referents of earlier turns
    def _referents(self, turns: list[Turn], lang: str) -> list[_Referent]:
        """People and things of the last turn (question, then the answer's lead, then the rest),
        then of older questions."""
        out: list[_Referent] = []
        last = turns[-1]
        out += self._referents_of(last.question, 0, lang, nouns=True)
        lead, rest = self._split_lead(last.answer)
        out += self._referents_of(lead, 2, lang)
        out += self._referents_of(rest, 3, lang, offset=len(lead))
        for age, turn in enumerate(reversed(turns[:-1]), start=1):
            out += self._referents_of(turn.question, 3 + age, lang)
        return out

    @staticmethod
    def _split_lead(answer: str) -> tuple[str, str]:
        m = _SENTENCE_END.search(answer)
        if m is None:
            return answer, ""
        return answer[: m.end()], answer[m.end():]

    def _referents_of(self, text: str, rank: int, lang: str, nouns: bool = False, offset: int = 0) -> list[_Referent]:
        if not text:
            return []
        out: list[_Referent] = []
        event = self._event_phrase(text)
        blocked: list[tuple[int, int]] = [(event.start, event.end)] if event else []
        for person in people(text):
            name = person.name
            out.append(_Referent(name, "person", rank, _gender(name), person.start, person.end))
            blocked.append((person.start, person.end))
        for m in _QUOTED.finditer(text):
            inner = next(g for g in m.groups() if g is not None)
            if len(inner.split()) > 6 or any(s <= m.start() < e for s, e in blocked):
                continue
            out.append(_Referent(inner if len(inner.split()) == 1 else m.group(), "thing", rank, start=m.start(), end=m.end()))
            blocked.append((m.start(), m.end()))
        toks = _tokens(text)
        for i, tok in enumerate(toks):
            if any(s <= tok.start < e for s, e in blocked):
                continue
            if self._after_person_bracket(text, tok):
                continue
            if self._is_acronym(tok):
                out.append(_Referent(tok.text, "thing", rank, start=tok.start, end=tok.end))
            elif is_place(tok.text):
                out.append(_Referent(tok.text, "place", rank, start=tok.start, end=tok.end))
            elif lang == "en" and rank == 0 and self._is_proper(toks, i, lang) and not self._is_question_word(tok):
                out.append(_Referent(tok.text, "thing", rank, start=tok.start, end=tok.end))
            elif nouns and i > 0 and tok.text[:1].isupper() and not self._is_question_word(tok) and tok.text not in {"Dr.", "Prof."}:
                out.append(_Referent(tok.text, "noun", rank, start=tok.start, end=tok.end))
        return out

    def _is_question_word(self, tok: _Tok) -> bool:
        return tok.low in self.cues.any_language("question")

    @staticmethod
    def _after_person_bracket(text: str, tok: _Tok) -> bool:
        """An organisation in brackets after a name ("Jana Brandt (XYZ)") is not what a pronoun means."""
        before = text[: tok.start]
        return before.endswith("(") and bool(re.search(r"[A-ZÄÖÜ][\wäöüß]+\s?\($", before))

    # ------------------------------------------------------------------ the event of earlier turns
    def _event_phrase(self, text: str) -> _EventPhrase | None:
        """The words of `text` that name its event(s) ("auf der Fachtagung … 2023"), if it names one."""
        scope = self.events.scope(text)
        if not scope.narrowed:
            return None
        toks = _tokens(text)
        window = self._minimal_window(text, toks, scope.doc_ids)
        if window is None:
            return None
        i, j = window
        lang_articles = _ARTICLES["de"] | _ARTICLES["en"]
        question_words = self.cues.any_language("question")
        # extend left over words of an event's name and genitive links ("Jahrestreffen der Gartenfreunde"),
        # not over other nouns ("zum Abschluss der Fachtagung" names the Fachtagung, not its end)
        name_words = self.events.name_words()

        def in_name(tok: _Tok) -> bool:
            return tok.text[:1].isupper() and bool(set(terms(tok.text)) & name_words)

        while i > 0:
            prev = toks[i - 1]
            if prev.low in question_words:
                break
            if in_name(prev) and not people(prev.text + " x"):
                i -= 1
            elif prev.low in {"der", "des", "von", "für"} and i > 1 and in_name(toks[i - 2]) and toks[i - 2].low not in question_words:
                i -= 2
            else:
                break
        # extend right over capitalised words, years, and to the end of an open quote
        while j + 1 < len(toks):
            nxt = toks[j + 1]
            span_text = text[toks[i].start: nxt.start]
            open_quote = span_text.count("„") > span_text.count("“") or span_text.count("\"") % 2 == 1
            if open_quote or nxt.text[:1].isupper() or _YEAR.fullmatch(nxt.text):
                j += 1
            elif nxt.low in {"der", "des", "von", "für"} and j + 2 < len(toks) and toks[j + 2].text[:1].isupper():
                j += 2  # "Jahrestreffen der Gartenfreunde"
            else:
                break
        # English names its events in lower case ("the 2023 quality conference"): take the tail
        if j + 1 < len(toks) and len(toks) - (j + 1) <= 3 and re.fullmatch(r"[\s\w-]*[?.!]?\s*", text[toks[j].end:]) \
                and all(t.low not in question_words for t in toks[j + 1:]) and toks[j + 1].low not in self.cues.of("question", "de") \
                and all(t.text.islower() and not t.low.endswith("ed") and t.low not in _EN_VERBS for t in toks[j + 1:]) \
                and self._looks_english(toks):
            j = len(toks) - 1
        start = toks[i].start
        if start > 0 and text[start - 1] in "„\"“":
            start -= 1
        end = toks[j].end
        m = re.match(r"[“”\"]+", text[end:])
        if m:
            end += m.end()
        with_preposition = False
        genders: frozenset[str] = frozenset()
        k = i - 1
        if k >= 0 and toks[k].low in lang_articles | set(_ARTICLE_GENDERS):
            genders = _ARTICLE_GENDERS.get(toks[k].low, frozenset())
            if toks[k].low in lang_articles:
                start, k = toks[k].start, k - 1
            else:
                start, k, with_preposition = toks[k].start, k - 1, True
        if k >= 0 and not with_preposition and toks[k].low in lang_articles | set(_ARTICLE_GENDERS):
            genders = _ARTICLE_GENDERS.get(toks[k].low, frozenset())
        if k >= 0 and (toks[k].low in _PREPOSITIONS["de"] | _PREPOSITIONS["en"]):
            start, with_preposition = toks[k].start, True
        phrase = text[start:end]
        if not with_preposition:
            words = phrase.split(maxsplit=1)
            if len(words) == 2 and words[0].lower() in lang_articles:
                phrase = words[1]
        return _EventPhrase(phrase, with_preposition, start, end, genders)

    @staticmethod
    def _looks_english(toks: list[_Tok]) -> bool:
        from vectorstore.text.language import detect_language

        return detect_language(" ".join(t.text for t in toks)) == "en"

    def _minimal_window(self, text: str, toks: list[_Tok], doc_ids) -> tuple[int, int] | None:
        for length in range(1, len(toks) + 1):
            for i in range(0, len(toks) - length + 1):
                j = i + length - 1
                if self.events.scope(text[toks[i].start: toks[j].end]).doc_ids == doc_ids:
                    return i, j
        return None

    def _event_of_history(self, turns: list[Turn]) -> _EventPhrase | None:
        """The event the latest turns named: in the user's words, else the one event an answer names."""
        for turn in reversed(turns):
            phrase = self._event_phrase(turn.question)
            if phrase is not None:
                return phrase
            scope = self.events.scope(turn.answer)
            if scope.narrowed and len(scope.events) == 1:
                return _EventPhrase(scope.events[0].label, False)
        return None

    def _with_event(self, question: str, event: _EventPhrase | None) -> str:
        if event is None or self._names_event(question):
            return question
        body, end = _end_punctuation(question)
        if event.text in body:
            return question
        return body + event.appended() + end

    def _without_opener(self, text: str, toks: list[_Tok], opener: int) -> str:
        if not opener or opener >= len(toks):
            return text
        rest = text[toks[opener].start:]
        return _capitalise(rest)

    # ------------------------------------------------------------------ resolution
    def _resolve_cues(
        self, text: str, toks: list[_Tok], opener: int, cues: list[_Cue], turns: list[Turn], lang: str,
        event: _EventPhrase | None, own: set[str],
    ) -> Resolution:
        referents = self._referents(turns, lang)
        replacements: list[tuple[int, int, str]] = []
        event_used = False
        for cue in cues:
            if cue.kind == "listref":
                listed = [r for r in referents if r.kind == "person" and r.rank in (2, 3)] or \
                         [r for r in referents if r.kind == "person" and r.rank == 0]
                listed = self._distinct(listed)
                index = cue.position - 1 if cue.position > 0 else len(listed) + cue.position
                if not 0 <= index < len(listed):
                    return Resolution(text, True, self._clarify_missing(cue.word, "person", lang))
                replacements.append((cue.start, cue.end, listed[index].text))
            elif cue.kind == "person":
                choice = self._choose_person(cue, referents, lang)
                if isinstance(choice, Resolution):
                    return Resolution(text, True, choice.clarify)
                if choice is None:
                    # German er/sie/es also stand for things; plural forms for plural nouns too
                    plural = bool(cue.genders & {"pl", "pl?"})
                    thing = self._choose_thing(referents, lang, allow_nouns=plural, plural=plural) if lang == "de" or plural else None
                    if thing is None and event is not None and lang == "de" and cue.genders & event.genders:
                        thing = _Referent(self._drop_preposition(event.text), "thing", 0)  # "Wie oft findet er statt?"
                        event_used = True
                    if thing is None or isinstance(thing, Resolution):
                        clarify = thing.clarify if isinstance(thing, Resolution) else self._clarify_missing(cue.word, "person", lang)
                        return Resolution(text, True, clarify)
                    choice = thing.text
                replacements.append((cue.start, cue.end, _genitive(choice, lang) if cue.possessive else choice))
            elif cue.kind in {"thing", "demonstrative", "thing-np"}:
                thing = self._choose_thing(referents, lang, allow_nouns=True)
                if isinstance(thing, Resolution):
                    return Resolution(text, True, thing.clarify)
                if thing is None and event is not None and cue.kind == "thing" and not cue.possessive:
                    thing = _Referent(self._drop_preposition(event.text), "thing", 0)
                    event_used = True
                if thing is None:
                    if cue.kind == "thing-np":
                        continue  # "dieses Projekt" names its own noun; nothing to add
                    return Resolution(text, True, self._clarify_missing(cue.word, "thing", lang))
                if cue.kind == "thing" and not cue.possessive:
                    replacements.append((cue.start, cue.end, thing.text))
                elif cue.kind == "thing":
                    replacements.append((cue.start, cue.end, _genitive(thing.text, lang)))
                else:
                    replacements.append((cue.end, cue.end, f" ({thing.text})"))
            elif cue.kind in {"place", "event"}:
                place = next((r for r in referents if r.kind == "place" and r.rank <= 2), None)
                if event is not None:
                    if cue.kind == "event":
                        replacements.append((cue.start, cue.end, event.text if not event.with_preposition else self._drop_preposition(event.text)))
                    elif event.with_preposition:
                        replacements.append((cue.start, cue.end, event.appended().strip()))
                    else:
                        replacements.append((cue.end, cue.end, event.appended()))
                    event_used = True
                elif place is not None:
                    replacements.append((cue.end, cue.end, f" ({place.text})"))
                elif len(self.events) > 1:
                    return Resolution(text, True, self._clarify_event(lang))
        resolved = text
        for start, end, new in sorted(replacements, key=lambda r: r[0], reverse=True):
            resolved = resolved[:start] + new + resolved[end:]
        resolved = self._without_opener(resolved, _tokens(resolved), opener)
        if not event_used and "event" not in own:
            resolved = self._with_event(resolved, event)
        return Resolution(resolved, True)

    def _drop_preposition(self, phrase: str) -> str:
        words = phrase.split(maxsplit=1)
        if len(words) == 2 and words[0].lower() in _PREPOSITIONS["de"] | _PREPOSITIONS["en"]:
            return words[1]
        return phrase

    @staticmethod
    def _distinct(referents: list[_Referent]) -> list[_Referent]:
        seen: dict[str, _Referent] = {}
        for r in referents:
            key = fold(r.text.split()[-1]) if r.kind == "person" else fold(r.text.strip("„“\"”"))
            seen.setdefault(key, r)
        return list(seen.values())

    def _choose_person(self, cue: _Cue, referents: list[_Referent], lang: str) -> str | Resolution | None:
        """The person `cue` means; a Resolution with `clarify` when several are equally likely."""
        genders = cue.genders
        persons = [r for r in referents if r.kind == "person"]
        for rank in sorted({r.rank for r in persons}):
            at_rank = self._distinct([r for r in persons if r.rank == rank])
            if genders == {"pl"}:
                return _join([r.text for r in at_rank], lang)
            fitting = [r for r in at_rank if r.gender is None or r.gender in genders]
            if len(fitting) == 1:
                return fitting[0].text
            if len(fitting) > 1:
                if "pl" in genders and lang == "en":
                    return _join([r.text for r in fitting], lang)
                return Resolution("", True, self._clarify_choice([r.text for r in fitting], lang))
            if "pl?" in genders and len(at_rank) > 1:
                return _join([r.text for r in at_rank], lang)
        return None

    def _choose_thing(
        self, referents: list[_Referent], lang: str, allow_nouns: bool, plural: bool = False
    ) -> _Referent | Resolution | None:
        things = [r for r in referents if r.kind == "thing"]
        for rank in sorted({r.rank for r in things}):
            found = self._thing_at_rank(things, rank, lang, plural)
            if found is not None:
                return found
            if rank == 0:
                break
        if allow_nouns:
            nouns = [r for r in referents if r.kind == "noun" and r.rank == 0]
            if nouns:
                return nouns[-1]
        for rank in sorted({r.rank for r in things if r.rank > 0}):
            found = self._thing_at_rank(things, rank, lang, plural)
            if found is not None:
                return found
        return None

    def _thing_at_rank(
        self, things: list[_Referent], rank: int, lang: str, plural: bool
    ) -> _Referent | Resolution | None:
        """The one thing named at `rank`; several: all of them for a plural pronoun, else a question back."""
        at_rank = self._distinct([r for r in things if r.rank == rank])
        if len(at_rank) == 1:
            return at_rank[0]
        names = [r.text.strip("„“\"”") for r in at_rank]
        if len(at_rank) > 1 and plural:
            return _Referent(_join(names, lang), "thing", rank)
        if len(at_rank) > 1:
            return Resolution("", True, self._clarify_choice(names[:3], lang))
        return None

    # ------------------------------------------------------------------ fragments
    def _resolve_fragment(self, text: str, fragment: dict, turns: list[Turn], lang: str, event: _EventPhrase | None) -> Resolution:
        previous = turns[-1].question.strip()
        prev_toks = _tokens(previous)
        prev_opener = self._opener(prev_toks, lang)
        if fragment["type"] == "wh":
            return Resolution(self._with_event(self._swap_question_word(previous, prev_toks, prev_opener, fragment, turns[-1], lang), event), True)
        np = fragment["np"]
        body, end = _end_punctuation(previous)
        body = self._without_opener(body, prev_toks, prev_opener)
        years = _YEAR.findall(np)
        own_event = self.events.scope(np)
        names_event = self._names_event(np) and any(not _YEAR.fullmatch(t.text) and t.text[:1].isupper() for t in _tokens(np))
        if years and not names_event:
            if _YEAR.search(body):
                return Resolution(_YEAR.sub(years[0], body) + end, True)
            if event is not None and not event.with_preposition and event.text in body:
                return Resolution(body.replace(event.text, f"{event.text} {years[0]}", 1) + end, True)
            return Resolution(f"{body} {'in ' if lang == 'en' else ''}{years[0]}{end}", True)
        prev_event = self._event_phrase(body)
        if names_event:
            if prev_event is not None:
                return Resolution(body[: prev_event.start] + np + body[prev_event.end:] + end, True)
            return Resolution(f"{body} {np}{end}", True)
        slots = [r for r in self._referents_of(body, 0, lang, nouns=True)]
        np_people = people(np)
        np_toks = _tokens(np)
        if np_people:
            order = ["person", "thing", "noun"]
        elif all(is_place(t.text) for t in np_toks if t.text[:1].isupper()) and any(is_place(t.text) for t in np_toks):
            order = ["place"]
        else:
            order = ["thing", "person", "noun"]
        for kind in order:
            candidates = [r for r in slots if r.kind == kind]
            if not candidates:
                continue
            slot = candidates[-1] if kind == "noun" else candidates[0]
            start = slot.start
            if kind == "noun":
                before = body[:start].split()
                if before and before[-1].lower() in _ARTICLES["de"] | _ARTICLES["en"] and np.split()[0].lower() in _ARTICLES["de"] | _ARTICLES["en"]:
                    start = body.rfind(before[-1], 0, start)
            return Resolution(body[:start] + np + body[slot.end:] + end, True)
        if order == ["place"]:
            return Resolution(f"{body} ({np}){end}", True)
        if lang == "en":
            return Resolution(text, True, f"What would you like to know about “{np}”?")
        return Resolution(text, True, f"Was möchten Sie zu „{np}“ wissen?")

    def _swap_question_word(self, previous: str, toks: list[_Tok], opener: int, fragment: dict, turn: Turn, lang: str) -> str:
        wh_new = fragment["wh"]
        fillers = " ".join(fragment["fillers"])
        body, end = _end_punctuation(previous)
        wh_len = self._question_phrase(toks, opener) if toks else 0
        if not wh_len:
            return f"{_capitalise(wh_new)}{(' ' + fillers) if fillers else ''}? ({body})"
        wh_old = [t.low for t in toks[opener: opener + wh_len]]
        after = toks[opener + wh_len:]
        rest = previous[after[0].start:] if after else ""
        rest, _ = _end_punctuation(rest)
        person = None
        if wh_old[0] in _PERSON_WH and wh_new.lower().split()[0] not in _PERSON_WH:
            lead, _ = self._split_lead(turn.answer)
            found = self._distinct([_Referent(p.name, "person", 0) for p in people(lead)])
            if found:
                person = _join([p.text for p in found], lang)
        if person is None:
            parts = [_capitalise(wh_new)] + ([fillers] if fillers and lang == "en" else [])
            if fillers and lang == "de" and after:
                verb, _, tail = rest.partition(" ")
                return f"{' '.join(parts)} {verb} {fillers} {tail}".rstrip() + end
            return f"{' '.join(parts)} {rest}".rstrip() + end
        if lang == "de":
            verb, _, tail = rest.partition(" ")
            return f"{_capitalise(wh_new)} {verb} {person} {tail}".rstrip() + end
        verb, _, tail = rest.partition(" ")
        if verb.lower() in _EN_AUX:
            return f"{_capitalise(wh_new)} {verb} {person} {tail}".rstrip() + end
        return f"{_capitalise(wh_new)} was it that {person} {rest}".rstrip() + end

    # ------------------------------------------------------------------ questions back
    @staticmethod
    def _clarify_choice(names: list[str], lang: str) -> str:
        if lang == "en":
            return f"Do you mean {_either(names, lang)}?"
        return f"Meinen Sie {_either(names, lang)}?"

    @staticmethod
    def _clarify_missing(word: str, kind: str, lang: str) -> str:
        if lang == "en":
            if kind == "person":
                return f"Who do you mean by “{word}”? Please give the name."
            return f"What do you mean by “{word}”? Please name it."
        if kind == "person":
            return f"Wen meinen Sie mit „{word}“? Bitte nennen Sie den Namen."
        return f"Was meinen Sie mit „{word}“? Bitte nennen Sie es."

    def _clarify_event(self, lang: str) -> str:
        labels = [e.label for e in self.events.events[:4]]
        if lang == "en":
            return f"Which event do you mean: {_either(labels, lang)}?"
        return f"Welche Veranstaltung meinen Sie: {_either(labels, lang)}?"
