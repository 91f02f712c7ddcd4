"""Every backend embeds through a `SentenceTransformer` and gives the torch model's vectors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from tests.conftest import MODEL_CACHE, REPO
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
def test_questions_without_torch_get_the_sentence_transformers_vectors(backend: str) -> None:
    """The service embeds questions through `OnnxSession` (no torch); ingest and the reference
    path use the `SentenceTransformer` around the same export. The vectors must not differ."""
    embedder = Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend=backend)
    questions = [*TEXTS, "Und wann?", "What were the key takeaways of the second day's forums, in short?" * 3]
    prompt = embedder._prompts["query"]
    for question in questions:
        # One at a time: int8 quantizes activations per batch, so a batch's other texts move a vector.
        reference = embedder.model.encode([question], prompt=prompt, normalize_embeddings=True)[0]
        for ours in (embedder.encode_query(question), embedder.encode_queries([question])[0]):
            assert ours.dtype == np.float32 and ours.shape == reference.shape
            assert np.abs(ours - reference).max() < 1e-6, question
    if backend == "onnx":  # float32: batches of mixed lengths give the same vectors too
        batch = embedder.encode_queries(questions)
        reference = embedder.model.encode(questions, prompt=prompt, normalize_embeddings=True)
        assert np.abs(batch - reference).max() < 1e-5


def test_a_server_path_embedder_never_imports_torch() -> None:
    """Importing torch was most of the service's start-up and ~700 MB of its memory."""
    script = (
        "import sys; from pathlib import Path; from vectorstore.embedding import Embedder; "
        f"e = Embedder.load({DEFAULT_MODEL!r}, Path({str(MODEL_CACHE)!r}), 1, backend='onnx'); "
        "v = e.encode_query('Wann beginnt die Tagung?'); e.aligner(); "
        "print(v.shape[0], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["384", "False", "False"]


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
