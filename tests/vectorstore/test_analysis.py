"""German term analysis: case, umlaut and ß folding, stemming, hyphenated names."""

from vectorstore.analysis import terms


def test_umlaut_and_ascii_spellings_meet() -> None:
    assert terms("Königstein") == terms("Koenigstein") == terms("KÖNIGSTEIN")
    assert terms("Großmann") == terms("Grossmann")


def test_inflections_share_a_stem() -> None:
    assert terms("Teilnehmende")[0] == terms("Teilnehmenden")[0]


def test_hyphenated_names_give_whole_and_parts() -> None:
    found = terms("Rhein-Sieg")
    assert terms("Rhein")[0] in found and terms("Sieg")[0] in found and len(found) == 3
