"""A sentence-transformers module that runs the ONNX export with ONNX Runtime.

The export (see `onnx_backend`) holds transformer, mean pooling and normalisation in
one graph, so this single input module makes a complete `SentenceTransformer`: the
library's `encode` (prompts, batching, length sorting, progress bar) stays the
interface, and only the arithmetic moves from torch to ONNX Runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule


class OnnxEncoder(InputModule):
    """Tokenizer plus ONNX Runtime session of one exported model folder."""

    config_keys = ["folder", "threads"]

    def __init__(self, folder: str, threads: int = 1, marker: dict[str, Any] | None = None) -> None:
        super().__init__()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from vectorstore.onnx_backend import read_export_marker

        self.folder = str(folder)
        self.threads = max(int(threads), 1)
        marker = marker or read_export_marker(Path(folder))
        self.max_seq_length = int(marker["max_seq_length"])
        self.dimension = int(marker["dimension"])
        self.tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=int(marker["pad_token_id"]), pad_token=str(marker["pad_token"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(Path(folder) / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, torch.Tensor]:
        texts = [f"{prompt}{text}" if prompt else str(text) for text in inputs]
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        feeds = {"input_ids": features["input_ids"].numpy(), "attention_mask": features["attention_mask"].numpy()}
        features["sentence_embedding"] = torch.from_numpy(self.session.run(None, feeds)[0])
        return features

    def embed_one(self, text: str, prompt: str | None = None) -> np.ndarray:
        """One text straight through tokenizer and session, shape (dimension,): the vector
        `SentenceTransformer.encode` gives, without its batching machinery, which costs about
        2 ms of a 12 ms question (tests/vectorstore/test_embedding.py pins the equality)."""
        encoding = self.tokenizer.encode(f"{prompt}{text}" if prompt else str(text))
        feeds = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
        }
        return self.session.run(None, feeds)[0][0]

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        self.save_config(output_path)


def onnx_sentence_transformer(folder: Path, threads: int = 1) -> SentenceTransformer:
    """A `SentenceTransformer` whose only module is `OnnxEncoder(folder)`, with the export's prompts."""
    from vectorstore.onnx_backend import read_export_marker

    marker = read_export_marker(folder)
    module = OnnxEncoder(str(folder), threads, marker)
    model = SentenceTransformer(modules=[module], device="cpu", prompts=dict(marker.get("prompts") or {}))
    model.max_seq_length = module.max_seq_length
    return model
