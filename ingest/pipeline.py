"""The ingest job: corpus folder in, a new store version out.

    discover → hash → load → clean → chunk → split sentences → embed (only what is new) → write

A run over an unchanged corpus (same files, model and chunking) writes nothing. A run
after a change embeds only chunks and sentences whose text is new: everything else
re-uses the vectors of the previous version, matched by content hash.

An editor's metadata corrections (`<file>.meta.json`, see `ingest.event_metadata`) count
as part of their document: the document's hash in the manifest covers them, so a
correction alone makes the next run take that document up again.

A `progress(stage, done, total)` callback hears where a run is: "reading" (files),
"embedding" (texts), "writing" (the store); the admin re-index shows it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ingest.chunking import Chunker, ChunkingConfig
from ingest.cleaning import clean
from ingest.embedding_cache import BlockEmbedder, clear_scratch, embedding_cache_dir, gather
from ingest.event_metadata import EventMetadata, read_corrections, sidecar_of
from ingest.loaders import CorpusScanner, LoadError, SkippedFile, load_file
from vectorstore.embedding import Embedder, passage_backend
from vectorstore.errors import CorpusError, TagungsbotError
from vectorstore.faiss_store import FaissStore, StoreContent, choose_index_type
from vectorstore.layout import clean_up, current_version, ingest_lock, new_version_name, write_failure
from vectorstore.manifest import Manifest
from vectorstore.records import Chunk, Document, sha256_text
from vectorstore.settings import Settings
from vectorstore.store import StoreWriter, open_writer
from vectorstore.text.sentences import split_sentences

log = logging.getLogger("tagungsbot.ingest")

Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as an ingest goes on."""


@dataclass
class IngestReport:
    """What one ingest run did; printed by the CLI and returned by the admin API."""

    version: str | None
    up_to_date: bool
    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    """Every corpus entry left out, with the reason (symlink outside the corpus, unreadable, ...)."""
    seconds: float = 0.0

    SUMMARY_SKIPPED_LINES = 20

    def summary(self) -> str:
        """Human-readable result; every skipped file gets a line with its reason."""
        if self.up_to_date:
            text = f"store {self.version} is up to date: {self.documents} documents, nothing embedded"
        else:
            text = (
                f"store {self.version} written: {self.documents} documents, {self.chunks} chunks, "
                f"{self.sentences} sentences; embedded {self.embedded} texts, re-used {self.reused} "
                f"({self.seconds:.1f} s)"
            )
        if self.skipped:
            text += f"\nskipped {len(self.skipped)} file(s):"
            for item in self.skipped[: self.SUMMARY_SKIPPED_LINES]:
                text += f"\n  {item.path}: {item.reason}"
            if len(self.skipped) > self.SUMMARY_SKIPPED_LINES:
                text += f"\n  … and {len(self.skipped) - self.SUMMARY_SKIPPED_LINES} more (see `tagungsbot ingest --json`)"
        return text


def file_hashes(
    paths: list[Path], corpus_dir: Path, skipped: list[SkippedFile] | None = None
) -> dict[str, str]:
    """SHA-256 of each file's bytes, keyed by its path below the corpus folder.

    A document with metadata corrections gets "<sha256>+meta:<first 16 hex of the
    sidecar's sha256>", so that a correction changes its hash. An unreadable file raises
    `LoadError`, or, when `skipped` is given, is left out and recorded there with the
    reason (`--skip-unreadable`).
    """
    hashes: dict[str, str] = {}
    for path in paths:
        digest = hashlib.sha256()
        rel = path.relative_to(corpus_dir).as_posix()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            error = LoadError(f"{path}: cannot be read ({exc.strerror or exc}); fix its permissions or remove it")
            if skipped is None:
                raise error from exc
            log.warning("skipped: %s", error)
            skipped.append(SkippedFile(rel, f"cannot be read ({exc.strerror or exc}); fix its permissions or remove it"))
            continue
        hashes[rel] = digest.hexdigest()
        try:
            sidecar = sidecar_of(path).read_bytes()
        except FileNotFoundError:
            continue
        except OSError:
            continue  # reported with the reason when the document is loaded
        hashes[rel] += "+meta:" + hashlib.sha256(sidecar).hexdigest()[:16]
    return hashes


@dataclass(frozen=True)
class _Prepared:
    documents: list[Document]
    chunks: list[Chunk]
    sentences: np.ndarray
    sentence_texts: list[str]
    skipped: list[SkippedFile]


class Ingestor:
    """Builds or updates the store under `settings.index_dir` from `settings.corpus_dir`."""

    def __init__(
        self, settings: Settings, embedder_factory: Callable[[], Embedder] | None = None, progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.progress: Progress = progress or (lambda stage, done, total: None)
        self.chunking = ChunkingConfig(settings.chunk_size, settings.chunk_overlap)
        self._embedder_factory = embedder_factory or (
            lambda: Embedder.load(
                settings.embedding_model, settings.model_cache_dir, settings.torch_threads,
                backend=passage_backend(settings.embedding_backend),
            )
        )
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def run(self, skip_unreadable: bool = False) -> IngestReport:
        """Ingest the corpus; raise a `TagungsbotError`/`LoadError` and write nothing on failure.

        One ingest per index folder at a time (`ingest_lock`); a second one fails at once.
        """
        with ingest_lock(self.settings.index_dir):
            scratch = embedding_cache_dir(self.settings.index_dir)
            clear_scratch(scratch)  # leftovers of a run that was killed
            try:
                return self._run_locked(skip_unreadable)
            except OSError as exc:  # disk full or not writable, wherever ingest writes
                raise write_failure(exc, self.settings.index_dir) from exc
            finally:
                clear_scratch(scratch)  # no half-written or gathered files stay behind, finished blocks do

    def _run_locked(self, skip_unreadable: bool) -> IngestReport:
        began = time.perf_counter()
        corpus_dir = self.settings.corpus_dir
        index_dir = self.settings.index_dir
        if not corpus_dir.is_dir():
            raise CorpusError(f"corpus folder {corpus_dir.resolve()} does not exist; create it or set TAGUNGSBOT_CORPUS_DIR")
        listing = CorpusScanner(corpus_dir).run()
        for item in listing.skipped:
            log.warning("skipped %s: %s", item.path, item.reason)
        paths = listing.files
        if not paths:
            raise CorpusError(
                f"no .md, .txt, .html, .pdf or .docx files in {corpus_dir.resolve()}; add documents or set TAGUNGSBOT_CORPUS_DIR"
                + (f" ({len(listing.skipped)} entries skipped: see the messages above)" if listing.skipped else "")
            )
        unreadable: list[SkippedFile] = []
        hashes = file_hashes(paths, corpus_dir, unreadable if skip_unreadable else None)
        paths = [p for p in paths if p.relative_to(corpus_dir).as_posix() in hashes]
        if not paths:
            raise CorpusError(f"none of the files in {corpus_dir.resolve()} could be read; see the messages above")
        writer = open_writer(self.settings)
        if writer.incremental:
            report = self._run_incremental(writer, paths, hashes, skip_unreadable, began)
            report.skipped = sorted(listing.skipped + unreadable + report.skipped, key=lambda s: s.path)
            return report
        index_dir.mkdir(parents=True, exist_ok=True)
        clean_up(index_dir)
        previous = self._previous_store()
        if (
            previous is not None and not unreadable and self._unchanged(previous.manifest, hashes)
            and previous.manifest.checksums  # a store without checksums is written again, checked
        ):
            return IngestReport(
                version=previous.manifest.version, up_to_date=True, documents=len(previous.documents),
                chunks=len(previous.chunks), sentences=len(previous.sentences), skipped=listing.skipped,
                seconds=time.perf_counter() - began,
            )
        prepared = self._prepare(paths, hashes, skip_unreadable)
        unreadable += prepared.skipped
        unread = [s.path for s in unreadable]
        vectors, sentence_vectors, embedded, reused = self._embed(prepared, previous)
        manifest = self._manifest(
            hashes, unread, self.embedder.dimension, len(prepared.chunks), choose_index_type(len(prepared.chunks)),
            {
                "sentences": int(len(prepared.sentences)), "skipped": unread,
                "embedding_backend": self.embedder.backend,  # runtime that embedded the passages
            },
        )
        content = StoreContent(prepared.documents, prepared.chunks, vectors, prepared.sentences, sentence_vectors)
        self.progress("writing", 0, 1)
        writer.write(content, manifest)
        self.progress("writing", 1, 1)
        self._block_embedder().drop()  # committed: the resume cache of this run is no longer needed
        return IngestReport(
            version=manifest.version, up_to_date=False, documents=len(prepared.documents), chunks=len(prepared.chunks),
            sentences=len(prepared.sentences), embedded=embedded, reused=reused,
            skipped=sorted(listing.skipped + unreadable, key=lambda s: s.path), seconds=time.perf_counter() - began,
        )

    def _run_incremental(
        self, writer: StoreWriter, paths: list[Path], hashes: dict[str, str], skip_unreadable: bool, began: float
    ) -> IngestReport:
        """Update a store that can delete (Milvus): embed and write only new and changed documents.

        Changed and removed documents are retired by doc_id (their path below the corpus
        folder); a new model or chunking rebuilds everything.
        """
        previous = writer.served_manifest()
        rebuild = previous is None or (previous.model, previous.chunk_size, previous.chunk_overlap) != (
            self.settings.embedding_model, self.chunking.size, self.chunking.overlap
        )
        if previous is not None and not rebuild and self._unchanged(previous, hashes):
            return IngestReport(
                version=previous.version, up_to_date=True, documents=len(previous.files), chunks=previous.chunk_count,
                sentences=int(previous.extra.get("sentences", 0)), seconds=time.perf_counter() - began,
            )
        served = {} if previous is None or rebuild else previous.files
        rel = {p: p.relative_to(self.settings.corpus_dir).as_posix() for p in paths}
        changed = [p for p in paths if served.get(rel[p]) != hashes[rel[p]]]
        retire = sorted(d for d in served if hashes.get(d) != served[d])
        try:
            prepared = self._prepare(changed, hashes, skip_unreadable) if changed else None
        except CorpusError:
            if not skip_unreadable:
                raise
            prepared = None  # every changed file was unreadable and skipped
        skipped_files = prepared.skipped if prepared else [SkippedFile(rel[p], "cannot be read") for p in changed]
        skipped = [s.path for s in skipped_files]
        if prepared is not None:
            vectors, sentence_vectors, embedded, reused = self._embed(prepared, None)
            content = StoreContent(prepared.documents, prepared.chunks, vectors, prepared.sentences, sentence_vectors)
            dimension = self.embedder.dimension
        else:
            embedded = reused = 0
            dimension = previous.dimension if previous is not None else self.embedder.dimension
            content = StoreContent([], [], np.zeros((0, dimension), np.float32), np.zeros((0, 3), np.int64), np.zeros((0, dimension), np.float32))
        manifest = self._manifest(
            hashes, skipped, dimension, len(content.chunks), self.settings.milvus_index, {"skipped": skipped}
        )
        self.progress("writing", 0, 1)
        published = writer.write(content, manifest, retire=retire, rebuild=rebuild)
        self.progress("writing", 1, 1)
        return IngestReport(
            version=published.version, up_to_date=False, documents=len(manifest.files), chunks=published.chunk_count,
            sentences=int(published.extra.get("sentences", 0)), embedded=embedded, reused=reused,
            skipped=skipped_files, seconds=time.perf_counter() - began,
        )

    def _manifest(
        self, hashes: dict[str, str], left_out: list[str], dimension: int, chunk_count: int, index_type: str,
        extra: dict,
    ) -> Manifest:
        """The manifest of a new version: model, chunking, and the files it was built from."""
        return Manifest(
            version=new_version_name(), model=self.settings.embedding_model, dimension=dimension,
            chunk_size=self.chunking.size, chunk_overlap=self.chunking.overlap,
            files={k: v for k, v in hashes.items() if k not in left_out}, chunk_count=chunk_count,
            index_type=index_type, extra=extra,
        )

    def _previous_store(self) -> FaissStore | None:
        if current_version(self.settings.index_dir) is None:
            return None
        try:
            store = FaissStore.load(self.settings.index_dir, require_checksums=False)
        except TagungsbotError as exc:
            log.warning("previous store cannot be read (%s); building a new one from scratch", exc)
            return None
        if store.manifest.model != self.settings.embedding_model:
            log.info("embedding model changed (%s → %s): everything is embedded again", store.manifest.model, self.settings.embedding_model)
            return None
        if not store.manifest.checksums:
            log.warning(
                "store %s has no file checksums (older tagungsbot): writing a checked version, re-using its vectors",
                store.manifest.version,
            )
        return store

    def _unchanged(self, manifest: Manifest, hashes: dict[str, str]) -> bool:
        return (
            manifest.files == hashes
            and manifest.chunk_size == self.chunking.size
            and manifest.chunk_overlap == self.chunking.overlap
            and not manifest.extra.get("skipped")
        )

    def _prepare(self, paths: list[Path], hashes: dict[str, str], skip_unreadable: bool) -> _Prepared:
        chunker = Chunker(self.chunking)
        documents: list[Document] = []
        chunks: list[Chunk] = []
        sentence_rows: list[tuple[int, int, int]] = []
        sentence_texts: list[str] = []
        skipped: list[SkippedFile] = []
        corpus_dir = self.settings.corpus_dir
        event_metadata = EventMetadata()
        self.progress("reading", 0, len(paths))
        for number, path in enumerate(paths, start=1):
            rel = path.relative_to(corpus_dir).as_posix()
            try:
                loaded = event_metadata.run(load_file(path, self.settings.max_file_bytes), read_corrections(path))
                doc = clean(loaded, corpus_dir, hashes[rel])
                if not doc.text.strip():
                    raise LoadError(f"{path}: holds no text; remove the empty file or fill it")
            except LoadError as exc:
                if not skip_unreadable:
                    raise
                log.warning("skipped: %s", exc)
                skipped.append(SkippedFile(rel, str(exc).removeprefix(f"{path}: ")))
                continue
            finally:
                self.progress("reading", number, len(paths))
            documents.append(doc)
            for chunk in chunker.run(doc):
                row = len(chunks)
                chunks.append(chunk)
                for start, end in split_sentences(doc.text, chunk.start, chunk.end):
                    sentence_rows.append((row, start, end))
                    sentence_texts.append(doc.text[start:end])
        if not documents:
            raise CorpusError(f"none of the {len(paths)} files in {corpus_dir.resolve()} could be read; see the messages above")
        sentences = np.asarray(sentence_rows, dtype=np.int64).reshape(-1, 3)
        return _Prepared(documents, chunks, sentences, sentence_texts, skipped)

    def _block_embedder(self) -> BlockEmbedder:
        return BlockEmbedder(
            self.embedder, embedding_cache_dir(self.settings.index_dir), self.settings.batch_size,
            progress=self.settings.show_progress,
            on_progress=lambda done, total: self.progress("embedding", done, total),
        )

    def _embed(self, prepared: _Prepared, previous: FaissStore | None) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Vectors for all chunks and sentences, embedding only texts the previous store lacks."""
        known: dict[str, np.ndarray] = {}
        if previous is not None:
            for row, chunk in enumerate(previous.chunks):
                known[chunk.content_hash] = previous.vectors[row]
            for row, (chunk_row, start, end) in enumerate(previous.sentences):
                doc = previous.documents[previous.chunks[int(chunk_row)].doc_id]
                known["s:" + sha256_text(doc.text[int(start):int(end)])] = previous.sentence_vectors[row]
        chunk_keys = [c.content_hash for c in prepared.chunks]
        chunk_texts = [c.embedding_text() for c in prepared.chunks]
        sentence_keys = ["s:" + sha256_text(t) for t in prepared.sentence_texts]
        todo: dict[str, str] = {}
        for key, text in zip(chunk_keys + sentence_keys, chunk_texts + prepared.sentence_texts):
            if key not in known and key not in todo:
                todo[key] = text
        # Embedded in resumable blocks (see ingest.embedding_cache); vectors are gathered into
        # memory-mapped files there, so RAM does not grow with the corpus.
        self.progress("embedding", 0, len(todo))  # also while the model loads
        blocks = self._block_embedder()
        if todo:
            fresh = blocks.run(list(todo.keys()), list(todo.values()))
            known.update(zip(todo.keys(), fresh))
        dim = self.embedder.dimension
        vectors = gather(chunk_keys, known, dim, blocks.folder / "vectors.npy")
        sentence_vectors = gather(sentence_keys, known, dim, blocks.folder / "sentence_vectors.npy")
        reused = len(chunk_keys) + len(sentence_keys) - len(todo)
        return vectors, sentence_vectors, len(todo), reused
