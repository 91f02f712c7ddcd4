"""German term analysis: case, umlaut and ß folding, stemming, hyphenated names."""

from vectorstore.text.analysis import terms


def test_umlaut_and_ascii_spellings_meet() -> None:
    assert terms("Königstein") == terms("Koenigstein") == terms("KÖNIGSTEIN")
    assert terms("Großmann") == terms("Grossmann")


def test_inflections_share_a_stem() -> None:
    assert terms("Teilnehmende")[0] == terms("Teilnehmenden")[0]


def test_hyphenated_names_give_whole_and_parts() -> None:
    found = terms("Rhein-Sieg")
    assert terms("Rhein")[0] in found and terms("Sieg")[0] in found and len(found) == 3


# --- compound-aware matching (the answer checks' "does the evidence mention it?") ---------

from pathlib import Path  # noqa: E402

from vectorstore.text.analysis import TermMatcher, compound_match  # noqa: E402

CORPUS = Path(__file__).resolve().parents[3] / "corpus" / "fachtagung-qualitaetsarbeit-2025.md"


def test_compound_parts_and_heads_match() -> None:
    assert compound_match("podium", "podiumsdiskussion")  # first part
    assert compound_match("diskussion", "podiumsdiskussion")  # head
    assert compound_match(terms("Odenwald")[0], terms("Odenwaldkreis")[0])
    assert not compound_match("tag", "vortrag")  # three letters only match exactly
    assert not compound_match("arbeit", "beit")  # a fragment is no word


def test_term_matcher_agrees_with_the_definition_on_the_real_vocabulary() -> None:
    vocabulary = sorted(set(terms(CORPUS.read_text(encoding="utf-8"))))
    matcher = TermMatcher(vocabulary)
    probes = vocabulary[::7] + terms("Podium Diskussion Jobcenter Führung Sieg Kreis Werkstatt tag BAKRIA Qualität")
    for probe in probes:
        expected = {w for w in vocabulary if compound_match(probe, w)} | {probe}
        assert matcher.matches(probe) == expected, probe


def test_term_matcher_knows_prefixes_of_terms() -> None:
    matcher = TermMatcher(terms("Odenwaldkreis Jobcenter"))
    assert matcher.has_prefix("odenwald") and not matcher.has_prefix("schwarzwald")
    assert "jobcent" in matcher and "odenwald" not in matcher
