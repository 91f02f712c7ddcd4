"""English questions are moved toward German before they meet German passages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.retrieval import FusionWeights, HybridRetriever
from tests.conftest import MODEL_CACHE
from vectorstore.embedding.crosslingual import CORPUS_LANGUAGE, PARALLEL_QUESTIONS, QueryAligner, read_parallel_questions
from vectorstore.embedding import Embedder
from vectorstore.settings import DEFAULT_MODEL

# Pairs that are not in the bundled question bank: the offset must generalise to them.
HELD_OUT = [
    ("Who presented the research assistant for the job centres?", "Wer hat den Rechercheassistenten für die Jobcenter vorgestellt?"),
    ("How many managers came to the conference in Berlin?", "Wie viele Führungskräfte kamen zur Tagung in Berlin?"),
    ("When did the second day of the event begin?", "Wann begann der zweite Tag der Veranstaltung?"),
    ("Which workshops dealt with artificial intelligence?", "Welche Workshops befassten sich mit künstlicher Intelligenz?"),
    ("What did the minister say about long-term unemployment?", "Was sagte die Ministerin über Langzeitarbeitslosigkeit?"),
    ("Where were the photos of the evening taken?", "Wo wurden die Fotos des Abends aufgenommen?"),
    ("Why do job centres measure the quality of their advice?", "Warum messen Jobcenter die Qualität ihrer Beratung?"),
    ("Who took part in the panel discussion?", "Wer nahm an der Podiumsdiskussion teil?"),
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend="onnx")


def test_the_question_bank_is_parallel_english_and_german() -> None:
    bank = read_parallel_questions()
    assert set(bank) == {"en", CORPUS_LANGUAGE}
    assert len(bank["en"]) == len(bank["de"]) >= 100
    assert all(q.strip().endswith("?") for lang in bank for q in bank[lang])
    held_out = {q for pair in HELD_OUT for q in pair}
    assert not held_out & set(bank["en"] + bank["de"])


def test_a_broken_question_bank_is_refused_with_the_line_format(tmp_path: Path) -> None:
    bank = tmp_path / "bank.tsv"
    bank.write_text("en\tde\nWho came?\tWer kam?\nOnly English?\n", encoding="utf-8")
    with pytest.raises(ValueError, match="one question per language"):
        read_parallel_questions(bank)


def test_an_aligned_english_question_lies_closer_to_its_german_translation(embedder: Embedder) -> None:
    aligner = embedder.aligner()
    english = embedder.encode_queries([en for en, _ in HELD_OUT])
    german = embedder.encode_queries([de for _, de in HELD_OUT])
    raw = (english * german).sum(axis=1)
    aligned = np.array([aligner.run(v, "en") @ g for v, g in zip(english, german)])
    assert (aligned > raw).all(), (raw, aligned)
    # ... and still closer to its own translation than to the others' (it stays this question).
    for i, vector in enumerate(english):
        sims = german @ aligner.run(vector, "en")
        assert int(np.argmax(sims)) == i


def test_alignment_keeps_unit_length_and_leaves_german_alone(embedder: Embedder) -> None:
    aligner = embedder.aligner()
    vector = embedder.encode_query("Who presented BAKIRA?")
    moved = aligner.run(vector, "en")
    assert abs(float(np.linalg.norm(moved)) - 1.0) < 1e-5
    assert not np.allclose(moved, vector)
    assert aligner.run(vector, "en", weight=0.0) is vector
    german = embedder.encode_query("Wer hat BAKIRA vorgestellt?")
    assert aligner.run(german, "de") is german


def test_offsets_are_computed_once_and_kept_in_the_model_cache(embedder: Embedder, tmp_path: Path) -> None:
    first = QueryAligner.for_embedder(embedder, tmp_path)
    files = list((tmp_path / "query-offsets").glob("*.npz"))
    assert len(files) == 1 and embedder.backend in files[0].name
    second = QueryAligner.for_embedder(embedder, tmp_path)
    np.testing.assert_array_equal(first.offsets["en"], second.offsets["en"])
    # A damaged cache file is computed again, not trusted or fatal.
    files[0].write_bytes(b"not a numpy archive")
    third = QueryAligner.for_embedder(embedder, tmp_path)
    np.testing.assert_allclose(third.offsets["en"], first.offsets["en"], atol=1e-6)
    assert files[0].read_bytes() != b"not a numpy archive"


def test_a_changed_question_bank_gets_new_offsets(embedder: Embedder, tmp_path: Path) -> None:
    QueryAligner.for_embedder(embedder, tmp_path)
    smaller = tmp_path / "bank.tsv"
    lines = PARALLEL_QUESTIONS.read_text(encoding="utf-8").splitlines()
    smaller.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    QueryAligner.for_embedder(embedder, tmp_path, bank_path=smaller)
    assert len(list((tmp_path / "query-offsets").glob("*.npz"))) == 2


def test_the_retriever_aligns_english_questions_only(embedder: Embedder, built_index: Path) -> None:
    from vectorstore.faiss_store import FaissStore

    store = FaissStore.load(built_index)
    on = HybridRetriever(store, embedder, FusionWeights())
    off = HybridRetriever(store, embedder, FusionWeights(crosslingual_shift=0.0))
    question = "Who presented BAKIRA?"
    np.testing.assert_array_equal(off.query_vector(question, "en"), embedder.encode_query(question))
    assert not np.allclose(on.query_vector(question, "en"), embedder.encode_query(question))
    german = "Wer hat BAKIRA vorgestellt?"
    np.testing.assert_array_equal(on.query_vector(german, "de"), embedder.encode_query(german))
    top = on.run(question, 3, "en").passages[0]
    assert "BAKIRA" in top.chunk.text
