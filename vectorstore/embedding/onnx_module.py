"""A sentence-transformers module that runs the ONNX export with ONNX Runtime.

The export (see `onnx_export`) holds transformer, mean pooling and normalisation in
one graph, so this single input module makes a complete `SentenceTransformer`: the
library's `encode` (prompts, batching, length sorting, progress bar) stays the
interface of ingest, and only the arithmetic moves from torch to ONNX Runtime. The
session itself is `onnx_session.OnnxSession`, which the service uses without torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule

from vectorstore.embedding.onnx_session import OnnxSession


class OnnxEncoder(InputModule):
    """`OnnxSession` of one exported model folder as a sentence-transformers module."""

    config_keys = ["folder", "threads"]

    def __init__(self, folder: str, threads: int = 1, marker: dict[str, Any] | None = None,
                 session: OnnxSession | None = None) -> None:
        super().__init__()
        self.runtime = session or OnnxSession(Path(folder), threads, marker)
        self.folder = str(folder)
        self.threads = self.runtime.threads
        self.max_seq_length = self.runtime.max_seq_length
        self.dimension = self.runtime.dimension

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, torch.Tensor]:
        features = self.runtime.tokenize([str(text) for text in inputs], prompt)
        return {name: torch.from_numpy(array) for name, array in features.items()}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        feeds = {"input_ids": features["input_ids"].numpy(), "attention_mask": features["attention_mask"].numpy()}
        features["sentence_embedding"] = torch.from_numpy(self.runtime.run(feeds))
        return features

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        self.save_config(output_path)


def onnx_sentence_transformer(folder: Path, threads: int = 1, session: OnnxSession | None = None) -> SentenceTransformer:
    """A `SentenceTransformer` whose only module is `OnnxEncoder(folder)`, with the export's prompts."""
    module = OnnxEncoder(str(folder), threads, session=session)
    model = SentenceTransformer(modules=[module], device="cpu", prompts=dict(module.runtime.prompts))
    model.max_seq_length = module.max_seq_length
    return model
