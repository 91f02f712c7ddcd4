"""Sentence boundaries: abbreviations, ordinal dates and numbered list items are not sentence ends."""

from vectorstore.text.sentences import split_sentences


def spans(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_dates_and_abbreviations_stay_inside_a_sentence() -> None:
    text = "Sie fand am 8. und 9. Oktober 2025 statt. Silvio Witt, Oberbürgermeister a.D. von Neubrandenburg, sprach."
    assert spans(text) == [
        "Sie fand am 8. und 9. Oktober 2025 statt.",
        "Silvio Witt, Oberbürgermeister a.D. von Neubrandenburg, sprach.",
    ]


def test_numbered_list_item_keeps_its_number() -> None:
    text = "Workshops:\n\n1. Kommunikation als Schlüssel. Mehr dazu.\n2. Wirkung mit Hausmitteln."
    assert spans(text) == ["Workshops:", "1. Kommunikation als Schlüssel.", "Mehr dazu.", "2. Wirkung mit Hausmitteln."]
