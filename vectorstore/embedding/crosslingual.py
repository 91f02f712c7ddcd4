"""Cross-lingual question alignment: an English question is moved to where the same
question asked in German would lie, before it is compared with German passages.

A multilingual encoder puts a sentence and its translation close together, but not on
top of each other: every language adds a roughly constant component to its vectors
(Libovický et al., 2020, "On the Language Neutrality of Pre-trained Multilingual
Representations"). For an English question over a German corpus that component is noise
that favours the wrong passages. We estimate it once per model as the mean difference
between English and German vectors of 100 parallel questions written for this project
(`data/parallel_questions.tsv`, no benchmark text) and subtract it from English
question vectors. On XQuAD, English questions over the German passages, passage hit@1
rose from 0.88 to 0.90 with multilingual-e5-small (bench/results/eval.md); German
questions are not touched.

The offsets depend only on the model, so they are computed once (about 200 short texts)
and kept next to the model in the model cache.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class QueryEncoder(Protocol):
    """What the aligner needs of an embedding model (`vectorstore.embedding.Embedder` is one);
    a protocol, so that this module does not import the model runtime that imports it."""

    name: str
    backend: str
    dimension: int

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


log = logging.getLogger(__name__)

CORPUS_LANGUAGE = "de"
PARALLEL_QUESTIONS = Path(__file__).with_name("data") / "parallel_questions.tsv"


def read_parallel_questions(path: Path = PARALLEL_QUESTIONS) -> dict[str, list[str]]:
    """The question bank as {language: questions}; line i of every language means the same."""
    rows = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row and row[0] and not row[0].startswith("#")]
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        raise ValueError(f"{path}: every line needs one question per language ({', '.join(header)})")
    return {language: [row[i] for row in body] for i, language in enumerate(header)}


def _bank_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _cache_file(cache_dir: Path, model_name: str, backend: str, digest: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"
    return cache_dir / "query-offsets" / f"{slug}-{backend}-{digest}.npz"


@dataclass(frozen=True)
class QueryAligner:
    """Per-language offsets of one model's question vectors, relative to the corpus language."""

    offsets: dict[str, np.ndarray]

    @classmethod
    def compute(cls, embedder: QueryEncoder, bank: dict[str, list[str]]) -> "QueryAligner":
        """Embed the parallel questions and take each language's mean difference to German."""
        means = {language: embedder.encode_queries(questions).mean(axis=0) for language, questions in bank.items()}
        target = means[CORPUS_LANGUAGE]
        return cls({lang: (mean - target).astype(np.float32) for lang, mean in means.items() if lang != CORPUS_LANGUAGE})

    @staticmethod
    def is_cached(cache_dir: Path, model_name: str, backend: str, bank_path: Path = PARALLEL_QUESTIONS) -> bool:
        """Whether `for_embedder` will find this model's offsets in `cache_dir` (no model load needed)."""
        return _cache_file(cache_dir, model_name, backend, _bank_digest(bank_path)).is_file()

    @classmethod
    def for_embedder(cls, embedder: QueryEncoder, cache_dir: Path | None, bank_path: Path = PARALLEL_QUESTIONS) -> "QueryAligner":
        """The aligner of `embedder`'s model, read from the model cache or computed and stored there."""
        path = _cache_file(cache_dir, embedder.name, embedder.backend, _bank_digest(bank_path)) if cache_dir else None
        if path is not None and path.is_file():
            try:
                with np.load(path) as data:
                    offsets = {lang: data[lang].astype(np.float32) for lang in data.files}
                if all(v.shape == (embedder.dimension,) for v in offsets.values()):
                    return cls(offsets)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("query offsets in %s are unreadable (%s); computing them again", path, exc)
        aligner = cls.compute(embedder, read_parallel_questions(bank_path))
        if path is not None:
            aligner._save(path)
        return aligner

    def _save(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp.npz")
            np.savez(tmp, **self.offsets)
            tmp.replace(path)
        except OSError as exc:  # a read-only model cache only costs the computation at the next start
            log.warning("cannot keep the query offsets in %s (%s); they are recomputed at each start", path, exc)

    def run(self, vector: np.ndarray, language: str, weight: float = 1.0) -> np.ndarray:
        """`vector` (a question in `language`) moved toward the corpus language, L2-normalised.

        `weight` scales the offset: 0 leaves the vector as it is, 1 removes the whole
        estimated language component. Languages without an offset are returned unchanged.
        """
        offset = self.offsets.get(language)
        if offset is None or weight == 0:
            return vector
        moved = vector - weight * offset
        norm = float(np.linalg.norm(moved))
        if norm == 0.0:
            return vector
        out = (moved / norm).astype(np.float32)
        out.setflags(write=False)
        return out
