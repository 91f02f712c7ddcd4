"""Greetings, thanks, goodbyes, "what can you do?", "who are you?": short replies, no citations.

A message is small talk only when every part of it is (parts are split at sentence
punctuation and commas): "Hallo!" and "Hallo! Was kannst du eigentlich alles?" are,
"Hallo, wer hat X vorgestellt?" is a question and gets None, so it is answered. The
patterns are data (`data/smalltalk.tsv`); the most informative intent of a message wins
(help, identity, wellbeing, thanks, goodbye, greeting).

Replies are formal German ("Sie") or English. Help says what the documents cover — the
events with date, place and main section headings from `EventIndex`, or the document
titles when no document reports on an event — and offers example questions from
`StarterQuestions`, as do the greeting, identity and wellbeing replies.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from service.answering.events import EventIndex
from service.answering.suggestions import StarterQuestions, format_dates, main_headings
from vectorstore.text.language import Language

PATTERNS_PATH = Path(__file__).resolve().parent.parent / "data" / "smalltalk.tsv"

INTENTS = ("help", "identity", "wellbeing", "thanks", "goodbye", "greeting")
"""Intents, most informative first: a message with several gets the reply of the first."""

_PARTS = re.compile(r"[.!?,;:\n]+")
_NOISE = re.compile(r"[^\w\s']+")


@dataclass(frozen=True)
class SmallTalkReply:
    """A conversational reply: not an abstention, no citations."""

    intent: str
    text: str
    suggestions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pattern:
    intent: str
    language: str
    regex: re.Pattern[str]


def load_patterns(path: Path = PATTERNS_PATH) -> list[_Pattern]:
    """The patterns of `smalltalk.tsv`; a bad line names its number and what is wrong."""
    patterns: list[_Pattern] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            row = next(csv.reader([line.rstrip("\n")], delimiter="\t"))
            if len(row) != 3 or row[0] not in INTENTS or row[1] not in {"de", "en", "*"}:
                raise ValueError(f"{path}:{number}: expected 'intent<TAB>de|en|*<TAB>regex' with an intent of {INTENTS}")
            try:
                regex = re.compile(row[2])
            except re.error as exc:
                raise ValueError(f"{path}:{number}: the regex does not compile: {exc}") from exc
            patterns.append(_Pattern(row[0], row[1], regex))
    return patterns


class SmallTalk:
    """Recognises small talk and writes the reply; None for anything that is a question."""

    def __init__(self, events: EventIndex, starters: StarterQuestions, patterns: list[_Pattern] | None = None) -> None:
        self.events = events
        self.starters = starters
        self.patterns = patterns if patterns is not None else load_patterns()

    def run(self, question: str, language: Language) -> SmallTalkReply | None:
        found = self.intents(question)
        if found is None:
            return None
        intents, languages = found
        lang = languages.pop() if len(languages) == 1 else ("en" if language == "en" else "de")
        intent = next(i for i in INTENTS if i in intents)
        greet = "greeting" in intents and intent not in {"greeting", "goodbye"}
        return self._reply(intent, lang, greet)

    def intents(self, message: str) -> tuple[set[str], set[str]] | None:
        """The intents of every part of `message`, and the languages their patterns name; None
        when some part is not small talk."""
        text = message.replace("’", "'").replace("`", "'").lower()
        parts = [" ".join(_NOISE.sub(" ", p).split()) for p in _PARTS.split(text)]
        parts = [p for p in parts if p]
        if not parts:
            return None
        intents: set[str] = set()
        languages: set[str] = set()
        for part in parts:
            matched = [p for p in self.patterns if p.regex.fullmatch(part)]
            if not matched:
                return None
            intents.update(p.intent for p in matched)
            specific = {p.language for p in matched if p.language != "*"}
            if len(specific) == 1:
                languages.update(specific)
        return intents, languages

    # ------------------------------------------------------------------ replies
    def _reply(self, intent: str, lang: str, greet: bool) -> SmallTalkReply:
        en = lang == "en"
        hello = ("Hello! " if en else "Guten Tag! ") if greet else ""
        if intent == "help":
            return SmallTalkReply(intent, hello + self._help_text(lang), self.starters.run(lang, 4))
        if intent == "identity":
            text = (
                "I am an automated assistant, not a person. I answer questions only from the stored event documents "
                "and show the passages my answers rest on. Please do not enter personal data or data about clients."
                if en else
                "Ich bin ein automatischer Assistent, kein Mensch. Ich beantworte Fragen ausschließlich anhand der "
                "hinterlegten Veranstaltungsdokumente und nenne die Textstellen, auf die sich meine Antworten stützen. "
                "Bitte geben Sie keine personenbezogenen Daten und keine Daten von Kundinnen und Kunden ein."
            )
            return SmallTalkReply(intent, hello + text, self.starters.run(lang, 3))
        if intent == "wellbeing":
            text = (
                "Thank you for asking! As an automated assistant I am always ready for your questions about "
                f"{self._coverage(lang)}."
                if en else
                "Danke der Nachfrage! Als automatischer Assistent bin ich jederzeit bereit für Ihre Fragen zu "
                f"{self._coverage(lang)}."
            )
            return SmallTalkReply(intent, hello + text, self.starters.run(lang, 3))
        if intent == "thanks":
            text = "You are welcome! Is there anything else you would like to know?" if en else \
                "Gern geschehen! Haben Sie noch eine Frage?"
            return SmallTalkReply(intent, text, [])
        if intent == "goodbye":
            text = "Goodbye! I am here whenever you have another question." if en else \
                "Auf Wiedersehen! Bei weiteren Fragen bin ich gern wieder für Sie da."
            return SmallTalkReply(intent, text, [])
        text = (
            f"Hello! I am an automated assistant and answer questions about {self._coverage(lang)}, "
            "with the passages as sources. What would you like to know?"
            if en else
            f"Guten Tag! Ich bin ein automatischer Assistent und beantworte Fragen zu {self._coverage(lang)}, "
            "jeweils mit den Textstellen als Quellen. Was möchten Sie wissen?"
        )
        return SmallTalkReply("greeting", text, self.starters.run(lang, 4))

    def _coverage(self, lang: str) -> str:
        """A short phrase for what the documents are about: up to three events by name."""
        labels = [e.label for e in self.events.events]
        if not labels:
            return "the stored documents" if lang == "en" else "den hinterlegten Dokumenten"
        shown = labels[:3]
        more = len(labels) - len(shown)
        if lang == "en":
            listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
            return f"the events {listed}" + (f" and {more} more" if more else "") if len(labels) > 1 else f"the event {listed}"
        listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " und " + shown[-1]
        if len(labels) == 1:
            return f"der Veranstaltung {listed}"
        return f"den Veranstaltungen {listed}" + (f" und {more} weiteren" if more else "")

    def _help_text(self, lang: str) -> str:
        en = lang == "en"
        lines = [
            "I answer questions about the stored documents and name the passages each answer rests on. They cover:"
            if en else
            "Ich beantworte Fragen zu den hinterlegten Dokumenten und nenne zu jeder Antwort die Textstellen. "
            "Die Dokumente behandeln:"
        ]
        documents = self.starters.documents
        if self.events.events:
            for info in self.events.events[:6]:
                details = [d for d in (format_dates(info.start, info.end, lang), info.place) if d]
                head = info.label + (f" ({', '.join(details)})" if details else "")
                doc = documents.get(info.doc_id)
                sections = main_headings(info, doc, 4) if doc is not None else []
                lines.append(f"- {head}" + (f": {'; '.join(sections)}" if sections else ""))
            if len(self.events.events) > 6:
                rest = len(self.events.events) - 6
                lines.append(f"- and {rest} more events" if en else f"- und {rest} weitere Veranstaltungen")
            others = sorted(d.title or d.doc_id for d in documents.values() if self.events.event(d.doc_id) is None)
            if others:
                shown = ", ".join(others[:4]) + (" …" if len(others) > 4 else "")
                lines.append(f"- Other documents: {shown}" if en else f"- Weitere Dokumente: {shown}")
        else:
            titles = sorted(doc.title or doc.doc_id for doc in documents.values())
            lines += [f"- {title}" for title in titles[:6]]
            if len(titles) > 6:
                lines.append(f"- and {len(titles) - 6} more documents" if en else f"- und {len(titles) - 6} weitere Dokumente")
        examples = self.starters.run(lang, 4)
        if examples:
            lines.append("For example, you could ask:" if en else "Sie können zum Beispiel fragen:")
            lines += [f"- {q}" for q in examples]
        return "\n".join(lines)
