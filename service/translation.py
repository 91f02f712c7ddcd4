"""English → German word translations for the keyword side of English questions.

BM25 over German text finds nothing with English words, so an English question used to
reach the keyword index with its names and numbers only. A bilingual dictionary turns its
content words into the German words the corpus uses ("drought" → "Dürre", "highways" →
"Autobahnen"); only translations that occur in the corpus are kept, at most a few per
word. On XQuAD (English questions over German passages) this keyword query alone finds
the right passage first for 0.68 of the questions (names and numbers alone: 0.32), and
it lifts the fused hit@1 above 0.90 (bench/results/eval.md).

The dictionary is Ding's German–English list (TU Chemnitz, GPL-2.0-or-later), installed
from Debian's `trans-de-en` package by `make install` and the Dockerfile; its 25 MB text
is parsed once and kept as JSON in the model cache. Without it, English questions are
searched as before (names, numbers, event vocabulary) and the service says so at start.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vectorstore.text.analysis import ENGLISH_STOPWORDS, terms

log = logging.getLogger(__name__)

_FORMAT = 1  # version of the JSON cache layout
_NOTES = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|<[^>]*>")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def parse_ding(lines: Iterable[str]) -> dict[str, list[str]]:
    """English word → German words, from Ding's "Deutsch | Formen :: English | forms" lines.

    Only single words on both sides are kept (phrases do not help a bag-of-words query);
    notes in {…}, […], (…) and <…> are dropped, "to present" becomes "present". The order
    of the German words is the dictionary's, whose first senses are the common ones.
    """
    table: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("#") or "::" not in line:
            continue
        german, english = line.rstrip("\n").split("::", 1)
        for de_part, en_part in zip(german.split("|"), english.split("|")):
            de_words = [w for w in (_NOTES.sub("", x).strip() for x in de_part.split(";")) if w and " " not in w]
            if not de_words:
                continue
            for raw in en_part.split(";"):
                word = _NOTES.sub("", raw).strip().lower()
                word = word[3:] if word.startswith("to ") else word
                if not word or " " in word:
                    continue
                known = table.setdefault(word, [])
                known.extend(w for w in de_words if w not in known)
    return table


def _inflections(word: str) -> list[str]:
    """`word` and the base forms an English inflection may hide ("studies" → "study")."""
    out = [word]
    if word.endswith("ies"):
        out.append(word[:-3] + "y")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    if word.endswith("ed"):
        out += [word[:-2], word[:-1]]
    if word.endswith("ing"):
        out += [word[:-3], word[:-3] + "e"]
    return out


@dataclass(frozen=True)
class Dictionary:
    """English → German translations of single words (empty when no dictionary is installed)."""

    entries: dict[str, str]  # English word → its German words joined by tabs (a third of the memory of tuples)
    source: str = ""

    @classmethod
    def empty(cls) -> "Dictionary":
        return cls({}, "")

    @classmethod
    def load(cls, path: Path, cache_dir: Path | None = None) -> "Dictionary":
        """Read Ding's list at `path`, through a JSON copy in `cache_dir` when one is there."""
        stat = path.stat()
        cached = cache_dir / "dictionary" / f"{path.name}-{stat.st_size}-{stat.st_mtime_ns}-v{_FORMAT}.json" if cache_dir else None
        if cached is not None and cached.is_file():
            try:
                data = json.loads(cached.read_text(encoding="utf-8"))
                return cls({k: "\t".join(v) for k, v in data.items()}, str(path))
            except (OSError, ValueError) as exc:
                log.warning("dictionary cache %s is unreadable (%s); reading %s again", cached, exc, path)
        with path.open(encoding="utf-8", errors="replace") as handle:
            table = parse_ding(handle)
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_name(cached.name + ".tmp")
                tmp.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
                tmp.replace(cached)
            except OSError as exc:
                log.warning("cannot keep the parsed dictionary in %s (%s); it is parsed at each start", cached, exc)
        return cls({k: "\t".join(v) for k, v in table.items()}, str(path))

    def __len__(self) -> int:
        return len(self.entries)

    def words(self, word: str) -> tuple[str, ...]:
        """German translations of one English word, trying its base forms when it is inflected."""
        for form in _inflections(word.lower()):
            found = self.entries.get(form)
            if found:
                return tuple(found.split("\t"))
        return ()

    def by_word(self, question: str, vocabulary: Container[str], per_word: int = 3) -> dict[str, list[str]]:
        """German words for each content word of an English `question` (words without any left out).

        Per word, the first `per_word` translations the corpus knows (one of their index
        terms is in `vocabulary`); stop words and words of two letters are skipped.
        """
        out: dict[str, list[str]] = {}
        for word in _ENGLISH_WORD.findall(question):
            if len(word) < 3 or word.lower() in ENGLISH_STOPWORDS or word in out:
                continue
            kept = [g for g in self.words(word) if any(t in vocabulary for t in terms(g))][:per_word]
            if kept:
                out[word] = kept
        return out

    def translate(self, question: str, vocabulary: Container[str], per_word: int = 3) -> list[str]:
        """The German words of `by_word`, once each, in question order."""
        return german_words(self.by_word(question, vocabulary, per_word))


def german_words(by_word: dict[str, list[str]]) -> list[str]:
    """The German words of a `Dictionary.by_word` result, once each, in question order."""
    return list(dict.fromkeys(g for words in by_word.values() for g in words))


@lru_cache(maxsize=4)
def installed_dictionary(path: Path | None, cache_dir: Path | None) -> Dictionary:
    """The dictionary at `path` (a constant resource, read once per process); empty when
    `path` is None (switched off), and empty with a warning that says how to install it
    when the file is not there."""
    if path is None:
        return Dictionary.empty()
    if not path.is_file():
        log.warning(
            "no English-German dictionary at %s: English questions are keyword-searched by names and numbers "
            "only. Install it with `apt-get install trans-de-en` (Debian) or set TAGUNGSBOT_DICTIONARY to Ding's "
            "de-en file.", path,
        )
        return Dictionary.empty()
    try:
        return Dictionary.load(path, cache_dir)
    except OSError as exc:
        log.warning("the dictionary at %s cannot be read (%s): English questions are keyword-searched by names "
                    "and numbers only. Fix its permissions or set TAGUNGSBOT_DICTIONARY to a readable copy.", path, exc)
        return Dictionary.empty()
