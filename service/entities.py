"""Finds the things short questions ask for: people, dates, numbers, places.

People are found as a known first name followed by one or two capitalised words,
optionally with an organisation in brackets ("Heiko Königstein (Bundesagentur für
Arbeit)"). The first-name list comes from the `gender-guesser` package. A document's
full mentions let a later surname-only mention ("Königstein präsentierte …") be
answered with the full name and organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CAP = r"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?"
_PERSON = re.compile(
    rf"(?P<title>(?:Dr\.|Prof\.)\s)?(?P<first>{_CAP})\s(?P<last>(?:{_CAP}\s)?{_CAP})(?:\s?\((?P<org>[^()]{{2,80}})\))?"
)
_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
_DATE = re.compile(
    rf"(?:\d{{1,2}}\.\s?(?:und|bis|–|-)\s?)?\d{{1,2}}\.\s?(?:{_MONTHS})(?:\s\d{{4}})?|(?:{_MONTHS})\s\d{{4}}|\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}"
)
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b|\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwölf|zwanzig|hundert)\b", re.I)
_NOT_FIRST = frozenset({"Den", "Der", "Die", "Das", "Mit", "Wie", "Was", "In", "Im", "Am", "Zum", "Rund", "Durch", "So"})
_WORD_START = re.compile(r"(?<![\w-])(?:Dr\.\s|Prof\.\s)?[A-ZÄÖÜ]")


@dataclass(frozen=True)
class Person:
    """A person mention: `name` as written, `org` from the brackets after it, if any."""

    name: str
    surname: str
    org: str | None
    start: int
    end: int

    def label(self) -> str:
        return f"{self.name} ({self.org})" if self.org else self.name


@lru_cache(maxsize=1)
def _first_names():
    import gender_guesser.detector as gender

    return gender.Detector(case_sensitive=False)


def is_first_name(word: str) -> bool:
    if word in _NOT_FIRST or len(word) < 2:
        return False
    return _first_names().get_gender(word.split("-")[0]) != "unknown"


def people(text: str) -> list[Person]:
    """Person mentions with a first name in `text`, with offsets."""
    found: list[Person] = []
    taken = -1
    for word in _WORD_START.finditer(text):
        if word.start() < taken:
            continue
        m = _PERSON.match(text, word.start())
        if m is None or not is_first_name(m.group("first")):
            continue
        last = m.group("last")
        parts = last.split()
        if len(parts) == 2 and not is_first_name(parts[0]) and parts[0][0].isupper():
            last = parts[0]  # "Jochen Wacker präsentierte" never reaches here, but "Anja Roth Jobcenter" can
        name = f"{m.group('title') or ''}{m.group('first')} {last}"
        end = m.start() + len(name) if last != m.group("last") else m.end("last")
        org = m.group("org") if last == m.group("last") else None
        if org is not None:
            end = m.end()
        found.append(Person(name=name, surname=last.split()[-1], org=org, start=m.start(), end=end))
        taken = end
    return found


def person_directory(text: str) -> dict[str, Person]:
    """Best known mention per surname in a document: one with an organisation wins."""
    directory: dict[str, Person] = {}
    for person in people(text):
        key = person.surname.lower()
        known = directory.get(key)
        if known is None or (known.org is None and person.org is not None):
            directory[key] = person
    return directory


def surname_mentions(text: str, directory: dict[str, Person]) -> list[tuple[int, Person]]:
    """Offsets where a known person is named (full or surname only), with that person."""
    hits: list[tuple[int, Person]] = []
    for key, person in directory.items():
        for m in re.finditer(rf"\b{re.escape(person.surname)}\b", text):
            hits.append((m.start(), person))
    return sorted(hits, key=lambda h: h[0])


def dates(text: str) -> list[str]:
    return [m.group().strip() for m in _DATE.finditer(text)]


def numbers(text: str) -> list[str]:
    return [m.group() for m in _NUMBER.finditer(text)]
