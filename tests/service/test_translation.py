"""English questions reach the German keyword index through a bilingual dictionary."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.qa import QuestionAnswering
from service.retrieval import FusionWeights, HybridRetriever
from service.translation import Dictionary, installed_dictionary, parse_ding
from tests.conftest import MODEL_CACHE
from vectorstore.embedding import Embedder
from vectorstore.faiss_store import FaissStore
from vectorstore.settings import DEFAULT_MODEL, Settings
from vectorstore.text.analysis import terms

DEFAULT_DICTIONARY = Settings().dictionary_path  # Debian's trans-de-en, the configured default

# Lines in Ding's format, written for this test (not copied from the dictionary).
SAMPLE = """\
# comment line
Dürre {f}; Trockenheit {f} [meteo.] :: drought
Autobahn {f} | Autobahnen {pl} :: motorway; highway | motorways; highways
vorstellen; präsentieren {vt} | vorstellend | vorgestellt :: to present | presenting | presented
Studie {f} | Studien {pl} :: study | studies
die Katze im Sack kaufen :: to buy a pig in a poke
Kultur {f} (Lebensweise) :: culture
"""


@pytest.fixture()
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "de-en"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def test_ding_lines_become_single_word_translations() -> None:
    table = parse_ding(SAMPLE.splitlines())
    assert table["drought"] == ["Dürre", "Trockenheit"]  # notes in {} and [] dropped
    assert table["highways"] == ["Autobahnen"]  # the forms of one entry line up by "|"
    assert table["present"] == ["vorstellen", "präsentieren"]  # "to present" is the verb "present"
    assert table["presented"] == ["vorgestellt"]
    assert table["culture"] == ["Kultur"]
    assert "buy" not in table and "poke" not in table  # phrases are no word translations


def test_inflected_english_words_find_their_entry(sample: Path) -> None:
    dictionary = Dictionary.load(sample)
    assert dictionary.words("Drought") == ("Dürre", "Trockenheit")
    assert dictionary.words("studies") == ("Studien",)
    assert dictionary.words("cultures") == ("Kultur",)  # plural "s" stripped
    assert dictionary.words("unknownword") == ()


def test_only_words_the_corpus_knows_are_kept_a_few_per_word(sample: Path) -> None:
    dictionary = Dictionary.load(sample)
    vocabulary = {t for word in ("Dürre", "Trockenheit", "Kultur") for t in terms(word)}  # the corpus's index terms
    assert dictionary.translate("What did the drought do to the culture?", vocabulary) == ["Dürre", "Trockenheit", "Kultur"]
    assert dictionary.translate("What did the drought do?", vocabulary, per_word=1) == ["Dürre"]
    assert dictionary.translate("Who presented the highways?", vocabulary) == []  # known to the dictionary, not the corpus


def test_the_parsed_dictionary_is_kept_in_the_cache_and_a_broken_copy_is_parsed_again(sample: Path, tmp_path: Path) -> None:
    first = Dictionary.load(sample, tmp_path / "cache")
    copies = list((tmp_path / "cache" / "dictionary").glob("*.json"))
    assert len(copies) == 1
    assert Dictionary.load(sample, tmp_path / "cache").entries == first.entries
    copies[0].write_text("{broken", encoding="utf-8")
    assert Dictionary.load(sample, tmp_path / "cache").entries == first.entries


def test_a_missing_dictionary_leaves_english_search_on_names_and_says_how_to_install_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.translation"):
        dictionary = installed_dictionary(tmp_path / "nowhere", None)
    assert len(dictionary) == 0
    assert "apt-get install trans-de-en" in caplog.text
    assert len(installed_dictionary(None, None)) == 0  # TAGUNGSBOT_DICTIONARY=off
    with caplog.at_level(logging.WARNING, logger="service.translation"):
        unreadable = installed_dictionary(Path("/proc/self/mem"), None)  # a file whose reading fails (EIO)
    assert len(unreadable) == 0
    assert "cannot be read" in caplog.text


def test_make_install_provides_the_debian_dictionary() -> None:
    assert DEFAULT_DICTIONARY.is_file(), "run `make install` (it installs Debian's trans-de-en)"
    dictionary = installed_dictionary(DEFAULT_DICTIONARY, MODEL_CACHE)
    assert len(dictionary) > 50_000
    assert "Dürre" in dictionary.words("drought")


@pytest.fixture(scope="module")
def store(built_index: Path) -> FaissStore:
    return FaissStore.load(built_index)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend="onnx")


def test_an_english_question_without_names_is_keyword_searched_in_german(store: FaissStore, embedder: Embedder) -> None:
    dictionary = installed_dictionary(DEFAULT_DICTIONARY, MODEL_CACHE)
    retriever = HybridRetriever(store, embedder, FusionWeights(), dictionary)
    question = "Who said that culture comes from behaviour?"
    assert retriever.keyword_query(question, "en") == "Kultur Verhalten"
    assert HybridRetriever(store, embedder, FusionWeights(), Dictionary.empty()).keyword_query(question, "en") == ""
    assert retriever.keyword_query("Wer sprach über Kultur?", "de") == "Wer sprach über Kultur?"  # German as it is
    answer = QuestionAnswering(store, embedder).ask(question, 5).answer
    assert not answer.abstained, answer.reason
    assert answer.lead == "Anja Roth (Jobcenter Rhein-Sieg)"
    assert "Kultur durch Verhalten" in answer.answer


def test_translations_help_choose_the_sentence_but_are_no_evidence(store: FaissStore, embedder: Embedder) -> None:
    qa = QuestionAnswering(store, embedder)
    q = qa.core.facts.analyse("Which speaker said that culture comes from behaviour?", "en")
    assert not isinstance(q, str)
    behaviour = next(t for t in q.terms if t.startswith("behavio"))
    assert "verhalt" in q.ranking_forms[behaviour]  # "Verhalten" ranks the sentence up ...
    assert "verhalt" not in q.forms[behaviour]  # ... but only the question's own words count as evidence
