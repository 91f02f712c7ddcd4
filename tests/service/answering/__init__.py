"""Tests of the answering components on made-up documents (none of the bundled reports).

`made_up_documents()` builds a small store's documents: two event reports with people,
programme headings and a gallery, and one document that reports on no event.
"""

from __future__ import annotations

from vectorstore.records import Document, Section


def _document(doc_id: str, title: str, parts: list[tuple[str | None, str]], metadata: dict) -> Document:
    text = title + "\n\n"
    sections: list[Section] = []
    for heading, body in parts:
        if heading is not None:
            sections.append(Section(len(text), heading))
            text += heading + "\n\n"
        text += body + "\n\n"
    return Document(doc_id, title, text.strip(), f"made-up/{doc_id}", "0" * 64, tuple(sections), metadata)


def made_up_documents() -> dict[str, Document]:
    workshop = _document(
        "werkstatttag-2022.md",
        "Rückblick auf den Werkstatttag Digitale Verwaltung 2022",
        [
            (None, "Am 10. und 11. Mai 2022 trafen sich rund 80 Fachleute in Leipzig."),
            ("Eröffnung: Ein Haus für alle", "Petra Lindner (Stadtverwaltung Leipzig) stellte das Werkzeug „LOTSE“ vor, "
             "das Anträge vorsortiert. Sie betonte, dass gute Beratung Zeit braucht."),
            ("Keynote: Neugier als Methode", "Die Keynote hielt Markus Feld (Landesamt für Statistik). Er präsentierte "
             "das Auswertungsprogramm „KODA“ und warb für mehr Neugier."),
            ("Bildergalerie", "Petra Lindner und Markus Feld im Gespräch."),
        ],
        {"event": "Werkstatttag „Digitale Verwaltung“ 2022", "event_start": "2022-05-10", "event_end": "2022-05-11",
         "place": "Leipzig"},
    )
    forum = _document(
        "sommerforum-2024.md",
        "Rückblick auf das Sommerforum Arbeit 2024",
        [
            (None, "Das Sommerforum Arbeit fand am 3. Juli 2024 in Bremen statt."),
            ("Was ist das Sommerforum?", "Das Sommerforum ist ein jährliches Treffen von Beratungsstellen."),
            ("Podium: Arbeit im Wandel", "Auf dem Podium saßen Lena Vogt (Hochschule Bremen), Jonas Brandt "
             "(Agentur Nord) und Sabine Kurz. Jonas Brandt zeigte, wie Beratung digital gelingt."),
            ("Fazit: Gemeinsam weiter", "Das Forum endete mit dem Wunsch nach mehr Austausch."),
        ],
        {"event": "Sommerforum Arbeit 2024", "event_start": "2024-07-03", "place": "Bremen"},
    )
    guide = _document(
        "leitfaden-aktenfuehrung.md",
        "Leitfaden Aktenführung",
        [("Grundsätze", "Akten werden vollständig und nachvollziehbar geführt.")],
        {},
    )
    return {d.doc_id: d for d in (workshop, forum, guide)}
