"""The German BM25 index: typo correction, umlaut folding, hyphenated names, ranking, persistence.

Built from a handful of real sentences of the conference report; no model involved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vectorstore.keyword import KeywordIndex, top_k

TEXTS = [
    "Königstein präsentierte den KI-basierten Rechercheassistenten „BAKIRA“.",
    "Maximilian Großmann betonte, dass das digitale Kundenerlebnis entscheidend sei.",
    "Anja Roth (Jobcenter Rhein-Sieg) zeigte, wie modernes Führungsverständnis zur Mitarbeiterbindung beiträgt.",
    "Ein Höhepunkt war die Podiumsdiskussion mit Katja Mast und Annika Klose.",
    "Frank Eilers sprach über die Zukunft der Arbeit.",
    "Am Nachmittag gab es fünf Workshops.",
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(TEXTS)


def first(index: KeywordIndex, query: str) -> int:
    hits = index.search(query, 3)
    assert len(hits.rows), f"nothing found for {query!r}"
    return int(hits.rows[0])


@pytest.mark.parametrize("typo", ["BAKRIA", "Bakria", "BAKIRA", "bakira"])
def test_a_typo_in_a_name_still_finds_it(index: KeywordIndex, typo: str) -> None:
    assert index.correct(typo.lower()) == "bakira"
    assert first(index, f"Wer hat {typo} vorgestellt?") == 0


def test_short_words_are_never_corrected(index: KeywordIndex) -> None:
    # "franc" is one edit from "frank", but five letters are too few to guess a typo from.
    assert index.correct("franc") is None
    assert index.correct("frank") == "frank"


@pytest.mark.parametrize(("query", "row"), [("Koenigstein", 0), ("KÖNIGSTEIN", 0), ("Grossmann", 1), ("großmann", 1)])
def test_umlauts_and_sharp_s_are_folded(index: KeywordIndex, query: str, row: int) -> None:
    assert first(index, query) == row


@pytest.mark.parametrize("query", ["Rhein-Sieg", "Rhein Sieg", "rhein-sieg jobcenter", "Sieg"])
def test_hyphenated_names_match_whole_and_parts(index: KeywordIndex, query: str) -> None:
    assert first(index, query) == 2


def test_unknown_words_find_nothing_instead_of_anything(index: KeywordIndex) -> None:
    hits = index.search("Regelsatz Bürgergeld", 5)
    assert len(hits.rows) == 0 and len(hits.scores) == 0


def test_ranking_is_by_score_with_zero_scores_left_out(index: KeywordIndex) -> None:
    hits = index.search("Podiumsdiskussion Workshops Klose", 10)
    assert list(hits.rows[:1]) == [3]  # two query words in row 3, one in row 5
    assert set(hits.rows.tolist()) == {3, 5}
    assert np.all(np.diff(hits.scores) <= 0)


def test_top_k_orders_ties_by_row_and_drops_zeros() -> None:
    hits = top_k(np.array([0.0, 2.0, 1.0, 2.0, 0.0, 3.0]), 4)
    assert hits.rows.tolist() == [5, 1, 3, 2]
    assert hits.scores.tolist() == [3.0, 2.0, 2.0, 1.0]
    assert top_k(np.array([0.0, 1.0]), 10).rows.tolist() == [1]
    assert top_k(np.zeros(0), 5).rows.tolist() == []


def test_saved_and_loaded_index_ranks_the_same(index: KeywordIndex, tmp_path: Path) -> None:
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, len(TEXTS))
    for query in ("BAKRIA", "Rhein-Sieg Führungsverständnis", "Koenigstein Grossmann"):
        a, b = index.search(query, 5), loaded.search(query, 5)
        assert a.rows.tolist() == b.rows.tolist()
        assert np.allclose(a.scores, b.scores)
