"""The ONNX export of the embedding model run without torch: what the service needs.

Importing torch (through sentence-transformers) is most of a server's start-up time and
about 700 MB of its memory, and answering questions needs neither: a question is
tokenised and run through the exported graph (transformer, pooling and normalisation
in one), which needs only `tokenizers` and ONNX Runtime. Ingest and the reference path
keep using `SentenceTransformer` (`onnx_module.OnnxEncoder` wraps this same session);
tests/vectorstore/embedding/test_model.py pins the vectors of both paths to each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


class OnnxSession:
    """Tokenizer plus ONNX Runtime session of one exported model folder (`onnx_export`)."""

    def __init__(
        self, folder: Path, threads: int = 1, marker: dict[str, Any] | None = None, memory_arena: bool = True,
    ) -> None:
        """`memory_arena`: ONNX Runtime keeps the memory of its largest run for the next one. Right
        for batches of passages (without it they take ~60 % longer); for single questions it only
        makes a server's memory grow with the busiest moment it has seen (the service turns it
        off: no measurable cost per question)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from vectorstore.embedding.onnx_export import read_export_marker

        self.folder = Path(folder)
        self.threads = max(int(threads), 1)
        self.marker = marker or read_export_marker(self.folder)
        self.max_seq_length = int(self.marker["max_seq_length"])
        self.dimension = int(self.marker["dimension"])
        self.prompts: dict[str, str] = dict(self.marker.get("prompts") or {})
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=int(self.marker["pad_token_id"]), pad_token=str(self.marker["pad_token"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = memory_arena
        self.session = ort.InferenceSession(str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def tokenize(self, texts: Sequence[str], prompt: str | None = None) -> dict[str, np.ndarray]:
        """Token ids and attention mask of `texts` (prompt prepended), padded to the longest."""
        encodings = self.tokenizer.encode_batch([f"{prompt}{text}" if prompt else str(text) for text in texts])
        return {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        }

    def run(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """The graph's normalised sentence embeddings, shape (batch, dimension)."""
        return self.session.run(None, features)[0]

    def encode(self, texts: Sequence[str], prompt: str | None = None, batch_size: int = 32) -> np.ndarray:
        """Vectors of `texts`, L2-normalised float32, in batches of texts of similar length
        (as `SentenceTransformer.encode` batches them, so padding stays short)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(str(t)) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for begin in range(0, len(texts), max(1, batch_size)):
            rows = order[begin:begin + batch_size]
            out[rows] = self.run(self.tokenize([texts[i] for i in rows], prompt))
        return normalised(out)

    def embed_one(self, text: str, prompt: str | None = None) -> np.ndarray:
        """One text's vector, shape (dimension,), without batching work (a question's path)."""
        return normalised(self.run(self.tokenize([text], prompt)))[0]


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as `encode(normalize_embeddings=True)` does (the graph
    already normalises; this keeps both paths' float32 rounding the same)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)
