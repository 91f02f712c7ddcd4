"""Every backend embeds through a `SentenceTransformer` and gives the torch model's vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from tests.conftest import MODEL_CACHE
from vectorstore.embedding import Embedder
from vectorstore.errors import ModelNotAvailableError
from vectorstore.settings import DEFAULT_MODEL

TEXTS = [
    "Wer hat BAKIRA vorgestellt?",
    "Who presented the research assistant?",
    "Königstein präsentierte den KI-basierten Rechercheassistenten „BAKIRA“.",
    "Rund 130 Führungskräfte kamen in Berlin zusammen.",
]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend="torch")


@pytest.mark.parametrize("backend,floor", [("onnx", 0.999), ("onnx-int8", 0.97)])
def test_onnx_backends_are_sentence_transformers_with_the_torch_vectors(
    torch_embedder: Embedder, backend: str, floor: float
) -> None:
    embedder = Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend=backend)
    assert isinstance(embedder.model, SentenceTransformer)
    assert embedder.dimension == torch_embedder.dimension == 384
    for encode in ("encode_passages", "encode_queries"):
        ours = getattr(embedder, encode)(TEXTS)
        reference = getattr(torch_embedder, encode)(TEXTS)
        cosines = (ours * reference).sum(axis=1)
        assert cosines.min() > floor, (encode, cosines)


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_single_question_on_the_direct_onnx_path_gets_the_batch_path_vector(backend: str) -> None:
    """`encode_query` skips `SentenceTransformer.encode` for speed; the vector must not change."""
    embedder = Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend=backend)
    questions = [*TEXTS, "Und wann?", "What were the key takeaways of the second day's forums, in short?" * 3]
    for question in questions:
        # One at a time: int8 quantizes activations per batch, so a batch's other texts move a vector.
        reference = embedder.encode_queries([question])[0]
        direct = embedder.encode_query(question)
        assert direct.dtype == np.float32 and direct.shape == reference.shape
        assert np.abs(direct - reference).max() < 1e-6, question


def test_query_and_passage_prompts_are_applied(torch_embedder: Embedder) -> None:
    as_query = torch_embedder.encode_queries(TEXTS[:1])[0]
    as_passage = torch_embedder.encode_passages(TEXTS[:1])[0]
    assert float(as_query @ as_passage) < 0.999
    assert np.allclose(torch_embedder.encode_query(TEXTS[0]), as_query, atol=1e-5)


def test_german_answer_ranks_above_unrelated_text_for_an_english_question(torch_embedder: Embedder) -> None:
    q = torch_embedder.encode_query("Who presented BAKIRA?")
    passages = torch_embedder.encode_passages([TEXTS[3], TEXTS[2]])
    assert float(passages[1] @ q) > float(passages[0] @ q)


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_a_model_that_is_not_on_disk_is_refused_with_the_fix(tmp_path: Path, backend: str) -> None:
    with pytest.raises(ModelNotAvailableError, match="TAGUNGSBOT_EMBEDDING_MODEL"):
        Embedder.load(str(tmp_path / "kein-modell"), MODEL_CACHE, 1, backend=backend)
