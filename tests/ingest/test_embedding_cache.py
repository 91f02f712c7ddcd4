"""Resumable block embedding at ingest (ingest/embedding_cache.py), with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.embedding_cache import BlockEmbedder, gather
from tests.conftest import MODEL_CACHE
from vectorstore.embedding import Embedder
from vectorstore.settings import DEFAULT_MODEL

TEXTS = [f"Satz {i}: Die Arbeitsgruppe {i} berichtete über Beratung im Jobcenter." for i in range(10)]
KEYS = [f"k{i}" for i in range(10)]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.load(DEFAULT_MODEL, MODEL_CACHE, 1, backend="onnx")


def test_an_interrupted_run_resumes_from_the_finished_blocks(embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "tmp" / "embedding-cache"
    first = BlockEmbedder(embedder, folder, batch_size=4, block_texts=4)
    first.run(KEYS[:8], TEXTS[:8])  # two full blocks finished, then the run "dies"
    assert len([p for p in folder.glob("*.npy") if len(p.stem) == 32]) == 2  # one file per finished block

    again = BlockEmbedder(embedder, folder, batch_size=4, block_texts=4)
    vectors = again.run(KEYS, TEXTS)
    assert again.resumed == 8  # only the last block (2 texts) was embedded
    direct = embedder.encode_passages(TEXTS)
    assert vectors.shape == direct.shape
    assert np.allclose(vectors, direct, atol=1e-5)

    again.drop()
    assert not folder.exists()


def test_a_damaged_block_is_embedded_again(embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    BlockEmbedder(embedder, folder, block_texts=4).run(KEYS[:4], TEXTS[:4])
    (block,) = [p for p in folder.glob("*.npy") if len(p.stem) == 32]
    block.write_bytes(b"not a numpy file")
    again = BlockEmbedder(embedder, folder, block_texts=4)
    vectors = again.run(KEYS[:4], TEXTS[:4])
    assert again.resumed == 0
    assert np.allclose(vectors, embedder.encode_passages(TEXTS[:4]), atol=1e-5)


def test_gather_writes_rows_in_key_order_to_a_memory_mapped_file(tmp_path: Path) -> None:
    known = {"a": np.ones(3, np.float32), "b": np.zeros(3, np.float32)}
    out = gather(["b", "a", "b"], known, 3, tmp_path / "v.npy")
    assert isinstance(out, np.memmap)
    assert np.array_equal(np.load(tmp_path / "v.npy"), np.stack([known["b"], known["a"], known["b"]]))
    assert gather([], known, 3, tmp_path / "none.npy").shape == (0, 3)
