"""ONNX Runtime backend of the embedding model: the same vectors, a fraction of the time.

Why: a query costs ~30 ms through torch on our 2-core machines; ONNX Runtime answers it
in a few. The sentence-transformers model (transformer, pooling, normalisation) is
exported once, with torch, into an ONNX file under the model cache. At run time the
export is still used through a `SentenceTransformer` (see `onnx_module`), so
sentence-transformers stays the one embedding interface of the project.

    <model cache>/<model folder>-onnx-v2/         backend "onnx": float32, same vectors as torch
    <model cache>/<model folder>-onnx-int8-v2/    backend "onnx-int8": int8 weights (per channel)

Each folder holds `model.onnx` (graph) with `model.onnx.data` (weights, memory-mapped by
ONNX Runtime), the model's `tokenizer.json`, and `onnx_export.json`
(written last: settings of the encoder and a fingerprint of the source folder; a folder
whose fingerprint no longer matches is exported again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from vectorstore.errors import ModelNotAvailableError, model_cache_not_writable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger("tagungsbot.embedding")

EXPORT_FORMAT = 2
"""Bump when the exported folder changes shape, so cached exports are redone.
2: weights in a separate `model.onnx.data`, which ONNX Runtime memory-maps."""

MARKER_FILE = "onnx_export.json"
BACKENDS = ("torch", "onnx", "onnx-int8")
"""Values of TAGUNGSBOT_EMBEDDING_BACKEND."""


def check_backend(backend: str) -> str:
    """Return `backend` if it is known; otherwise raise an error that lists the choices."""
    if backend not in BACKENDS:
        raise ModelNotAvailableError(
            f"unknown embedding backend {backend!r}; set TAGUNGSBOT_EMBEDDING_BACKEND to one of {', '.join(BACKENDS)}"
        )
    return backend


def source_fingerprint(source: Path) -> str:
    """Hash of names, sizes and modification times of the model folder's files."""
    digest = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith(".")):
        stat = path.stat()
        digest.update(f"{path.relative_to(source).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def export_dir(source: Path, cache_dir: Path, quantized: bool) -> Path:
    """Folder under `cache_dir` that holds the ONNX export of the model folder `source`."""
    suffix = "onnx-int8" if quantized else "onnx"
    return Path(cache_dir) / f"{source.name}-{suffix}-v{EXPORT_FORMAT}"


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(folder: Path, fingerprint: str) -> bool:
    marker = _read_marker(folder)
    return bool(marker) and marker.get("source_fingerprint") == fingerprint and (folder / "model.onnx").is_file()


def ensure_onnx_export(source: Path, cache_dir: Path, quantized: bool) -> Path:
    """Return the ONNX folder for the model folder `source`, exporting it once if needed.

    Exporting loads the model with torch (a minute on 2 cores, once per model); it is
    written to a temporary folder and renamed, so concurrent processes never see half a
    folder.
    """
    source = Path(source)
    if not (source / "modules.json").is_file():
        raise ModelNotAvailableError(
            f"the ONNX backend needs a sentence-transformers folder on disk, {source} is none; "
            f"set TAGUNGSBOT_EMBEDDING_BACKEND=torch for models loaded by hub name"
        )
    fingerprint = source_fingerprint(source)
    final = export_dir(source, cache_dir, quantized)
    if _is_current(final, fingerprint):
        return final
    log.info("exporting %s to ONNX%s (once per model; takes about a minute)", source.name, " int8" if quantized else "")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    except OSError as exc:  # read-only or not ours: one line with the fix, not a traceback
        raise model_cache_not_writable(cache_dir, exc) from exc
    try:
        try:
            _export(source, staging, quantized, fingerprint)
        except OSError as exc:  # disk full in the cache: the same one line
            raise model_cache_not_writable(cache_dir, exc) from exc
        if final.exists():
            stale = Path(tempfile.mkdtemp(prefix=f".{final.name}.stale-", dir=final.parent))
            os.replace(final, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(staging, final)
        except OSError:
            if not _is_current(final, fingerprint):  # another process finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _export(source: Path, target: Path, quantized: bool, fingerprint: str) -> None:
    """Trace the whole sentence-transformers pipeline (transformer → pooling → normalise)."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise ModelNotAvailableError("exporting to ONNX needs torch and sentence-transformers; run `pip install -e .`") from exc
    model = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    model.eval()

    class _Pipeline(torch.nn.Module):
        def __init__(self, st: "SentenceTransformer") -> None:
            super().__init__()
            self.st = st

        def forward(self, input_ids: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
            out = self.st({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]
            return torch.nn.functional.normalize(out, p=2, dim=1)

    tokenizer_file = source / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ModelNotAvailableError(
            f"{source} has no tokenizer.json (a fast tokenizer); the ONNX backend needs one. "
            f"Set TAGUNGSBOT_EMBEDDING_BACKEND=torch for this model"
        )
    dummy = torch.ones((2, 8), dtype=torch.long)
    plain = target / ("model.fp32.onnx" if quantized else "model.onnx")
    try:
        with torch.no_grad():
            torch.onnx.export(
                _Pipeline(model), (dummy, dummy), str(plain),
                input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "sentence_embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )
        if quantized:
            _quantize(plain, target / "model.q.onnx")
            plain.unlink()
            plain = target / "model.q.onnx"
        _with_external_weights(plain, target / "model.onnx")
    except Exception as exc:  # the exporter raises many types
        raise ModelNotAvailableError(
            f"exporting {source} to ONNX failed ({type(exc).__name__}: {exc}); "
            f"set TAGUNGSBOT_EMBEDDING_BACKEND=torch to embed with torch instead"
        ) from exc
    shutil.copyfile(tokenizer_file, target / "tokenizer.json")
    marker = {
        "format": EXPORT_FORMAT,
        "source": str(source.resolve()),
        "source_fingerprint": fingerprint,
        "quantized": quantized,
        "dimension": int(model.get_embedding_dimension() or 0),
        "max_seq_length": int(model.max_seq_length),
        "prompts": dict(getattr(model, "prompts", {}) or {}),
        "pad_token_id": int(model.tokenizer.pad_token_id or 0),
        "pad_token": str(model.tokenizer.pad_token or ""),
    }
    (target / MARKER_FILE).write_text(json.dumps(marker, indent=2, ensure_ascii=False), encoding="utf-8")


def _with_external_weights(model: Path, target: Path) -> None:
    """Re-save `model` as `target` + `target.data` (all weights in one file next to it).

    ONNX Runtime memory-maps external weights instead of copying them into the process: the
    float model then starts in 0.3 s instead of 0.9 s and holds ~150 MB of private memory
    instead of ~1 GB, and several workers share the weights through the page cache.
    """
    import onnx

    proto = onnx.load(str(model))
    onnx.save_model(proto, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=target.name + ".data", size_threshold=1024)
    if model != target:
        model.unlink()


def _quantize(plain: Path, target: Path) -> None:
    """int8 weights, one scale per output channel: cosine ≥ 0.99 to the float vectors, where one
    scale per tensor gave 0.975 and lost a point of XQuAD hit@1 (bench/perf/backends.py)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # the quantizer logs a line per tensor and advice to the root logger
    try:
        quantize_dynamic(str(plain), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def read_export_marker(folder: Path) -> dict[str, Any]:
    """Settings of a complete export (written last); raise a clear error for an incomplete one."""
    marker = _read_marker(folder)
    if not marker:
        raise ModelNotAvailableError(f"{folder} is no complete ONNX export; delete it and start again")
    return marker


def passage_backend(backend: str) -> str:
    """Backend for embedding passages at ingest: int8 is a query-latency trade, and passages,
    embedded once and compared with every question, keep full precision ("onnx")."""
    return "onnx" if backend == "onnx-int8" else backend
