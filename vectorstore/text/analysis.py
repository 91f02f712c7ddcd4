"""German-aware term analysis shared by the keyword index and the answer selector.

A term is lower-cased, Snowball-stemmed (German) and then folded (ä→a, ß→ss, "ae"→"a"),
so "Müllerstein", "Muellerstein" and "müllersteins" meet in one term. Hyphenated names
such as "Ober-Ems" yield the whole and each part.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[0-9A-Za-zÀ-ÖØ-öø-ÿ]+(?:[-'][0-9A-Za-zÀ-ÖØ-öø-ÿ]+)*")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a"})
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")

GERMAN_STOPWORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
    auch auf aus bei beim bin bis bist da damit dann das dass dasselbe dazu dein deine dem den denn
    der des dessen die dies diese dieselbe diesem diesen dieser dieses doch dort du durch ein eine
    einem einen einer eines einig einige einigem einigen einiger er es etwas euch euer eure für gegen
    gewesen hab habe haben hat hatte hatten hier hin hinter ich ihr ihre im in indem ins ist jede
    jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner
    man manche mein meine mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine
    sich sie sind so solche soll sollte sondern sonst über um und uns unser unter viel vom von vor
    während war waren warst was weg weil weiter welche welchem welchen welcher welches wenn werde
    werden wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen
    wer wen wem wessen wann wo wohin woher warum wieso weshalb welche wieviel wieviele viele
    """.split()
)

ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will
    with would you your yours tell please many much
    """.split()
)

STOPWORDS = GERMAN_STOPWORDS | ENGLISH_STOPWORDS


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


def fold(term: str) -> str:
    """Lower-case and fold umlauts, ß and their ASCII spellings to one form."""
    term = unicodedata.normalize("NFC", term.lower()).translate(_FOLD)
    return _DIGRAPHS.sub(lambda m: m.group(1)[0], term)


def words(text: str) -> list[str]:
    """Surface words of `text`, hyphenated names kept whole."""
    return _WORD.findall(text)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Stemmed and folded form of one lower-cased word (memoised: words repeat a lot)."""
    return fold(_stemmer().stemWord(word.lower()))


def terms(text: str, keep_stopwords: bool = False) -> list[str]:
    """Index terms of `text`: stemmed, folded; hyphenated words also give their parts."""
    out: list[str] = []
    for word in words(text):
        lowered = word.lower()
        parts = [lowered] + (lowered.split("-") if "-" in lowered else [])
        for part in parts:
            if not keep_stopwords and part in STOPWORDS:
                continue
            if len(part) < 2 and not part.isdigit():
                continue
            out.append(stem(part))
    return out


# --------------------------------------------------------------------------- compound-aware matching

COMPOUND_MIN = 4
"""Terms shorter than this only match exactly: "tag" must not match "vortrag" or "tagung"."""


def compound_match(term: str, word: str) -> bool:
    """`term` matches index term `word`: equal, or a compound part of it ("podium" in
    "podiumsdiskussion", "sieg" at the end of "rheinsieg"), or `word` is a head of `term`.

    The reference definition; `TermMatcher` answers the same question for a whole vocabulary.
    """
    if term == word:
        return True
    if len(term) < COMPOUND_MIN or len(word) < COMPOUND_MIN:
        return False
    return word.startswith(term) or word.endswith(term) or (len(word) >= 5 and term.startswith(word))


class TermMatcher:
    """Which vocabulary terms a (question) term matches, by `compound_match`, in O(log n).

    Built once per store from its keyword vocabulary; answers by binary search over the
    sorted terms and over the sorted reversed terms (for compound heads), so checking a
    question term against thousands of sentences is one set intersection per sentence.
    """

    def __init__(self, vocabulary) -> None:
        self._terms = sorted(set(vocabulary))
        self._known = frozenset(self._terms)
        self._reversed = sorted(t[::-1] for t in self._terms)
        self._memo: dict[str, frozenset[str]] = {}

    def __contains__(self, term: str) -> bool:
        return term in self._known

    def has_prefix(self, prefix: str) -> bool:
        """Some vocabulary term starts with `prefix` ("odenwald" → "odenwaldkreis")."""
        import bisect

        i = bisect.bisect_left(self._terms, prefix)
        return i < len(self._terms) and self._terms[i].startswith(prefix)

    def matches(self, term: str) -> frozenset[str]:
        """Vocabulary terms `term` matches, plus `term` itself (it may be new to the vocabulary)."""
        found = self._memo.get(term)
        if found is None:
            found = frozenset(self._compute(term))
            if len(self._memo) > 50_000:
                self._memo.clear()
            self._memo[term] = found
        return found

    def _compute(self, term: str) -> set[str]:
        out = {term}
        if len(term) < COMPOUND_MIN:
            return out
        out.update(w for w in _starting_with(self._terms, term) if len(w) >= COMPOUND_MIN)
        out.update(w[::-1] for w in _starting_with(self._reversed, term[::-1]) if len(w) >= COMPOUND_MIN)
        out.update(term[:n] for n in range(5, len(term)) if term[:n] in self._known)
        return out


def _starting_with(ordered: list[str], prefix: str) -> list[str]:
    import bisect

    lo = bisect.bisect_left(ordered, prefix)
    hi = bisect.bisect_left(ordered, prefix + "\uffff")
    return ordered[lo:hi]
