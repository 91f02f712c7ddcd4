"""Sentence boundaries in German and English text, as character offsets.

Sentences are the unit an answer quotes. The splitter knows common German and
English abbreviations ("a.D.", "Dr.", "z. B.", "Mr.") and ordinal dates ("8. Oktober"),
which a naive split on ". " would cut.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "a.d", "dr", "prof", "bzw", "ca", "vgl", "z.b", "u.a", "d.h", "usw", "etc", "nr", "abs",
    "str", "st", "hr", "fr", "mr", "mrs", "ms", "vs", "inkl", "ggf", "evtl", "sog", "gem", "u", "z", "b",
    "jan", "feb", "mär", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez", "i.e", "e.g",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"“”„'’»«)]*(?=\s)|\n+")
_MONTHS = re.compile(
    r"\s*(januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|jahrhundert)",
    re.IGNORECASE,
)


def _is_false_boundary(text: str, end: int, match: re.Match[str]) -> bool:
    if match.group().startswith("\n"):
        return False
    if not match.group().startswith("."):
        return False
    head = text[:match.start()]
    word = re.search(r"([\wäöüÄÖÜß.]+)$", head)
    token = word.group(1).lower() if word else ""
    if token.rstrip(".") in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
        return True
    if token.isdigit() and (_MONTHS.match(text, end) or re.match(r"\s+(und|bis|-|–)\s+\d", text[end:])):
        return True
    if token.isdigit() and len(token) <= 2 and (len(head) == len(token) or head[-len(token) - 1] == "\n"):
        return True  # "1. Kommunikation …": the number of a list item starts its sentence
    following = text[end:].lstrip()
    return bool(following) and following[0].islower()


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in `text[start:end]`, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        cut = match.end()
        if _is_false_boundary(text, cut, match):
            continue
        _append_trimmed(text, cursor, cut, spans)
        cursor = cut
    _append_trimmed(text, cursor, end, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append the span without surrounding white space and without a leading list bullet."""
    while start < end and text[start].isspace():
        start += 1
    if text.startswith("• ", start):
        start += 2
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
