"""German-aware term analysis shared by the keyword index and the answer selector.

A term is lower-cased, Snowball-stemmed (German) and then folded (ä→a, ß→ss, "ae"→"a"),
so "Königstein", "Koenigstein" and "königsteins" meet in one term. Hyphenated names
such as "Rhein-Sieg" yield the whole and each part.
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


def stem(word: str) -> str:
    """Stemmed and folded form of one lower-cased word."""
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
