"""Which language a question is in: German or English (the two the users write).

A question is English when it has clearly more English than German function words;
everything else, including bare keywords such as "BAKIRA", is treated as German,
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
    de = sum(w in _DE for w in words) + german_bonus
    return "en" if en > de else "de"
