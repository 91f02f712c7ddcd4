"""The stores the evaluation asks: built with the real `Ingestor`, cached by content hash.

Each store gets its own corpus folder under bench/_work/stores/<name>/corpus (the files
copied in) and an index folder `index-<key>` beside it, where the key hashes the corpus
files, the model and chunking settings and the source of the code that builds a store.
An unchanged key re-uses the folder; anything that could change the store builds a new one.

- `one-report`:   corpus/ (the 2025 report), for the conference set;
- `five-reports`: corpus/ plus the four event reports of bench/data/events/;
- `xquad`:        one Markdown file per XQuAD passage (file name = passage id).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable, Mapping

from bench.datasets import CORPUS_DIR, ROOT, event_reports, xquad_passages

WORK_DIR = ROOT / "bench" / "_work"
STORES_DIR = WORK_DIR / "stores"
# Product packages whose code shapes what a store holds; `service` only reads stores.
_NOT_STORE_CODE = {"service", "bench", "tests", "deploy", "docs", "corpus"}


def corpus_files(corpus_dir: Path = CORPUS_DIR) -> dict[str, bytes]:
    """Relative path → bytes of every file of a corpus folder (sub-folders included)."""
    return {
        str(path.relative_to(corpus_dir)): path.read_bytes()
        for path in sorted(corpus_dir.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def one_report_files() -> dict[str, bytes]:
    return corpus_files()


def five_report_files() -> dict[str, bytes]:
    files = corpus_files()
    for path in event_reports():
        if path.name in files:
            raise ValueError(f"event report {path.name} has the name of a corpus file; rename one of them")
        files[path.name] = path.read_bytes()
    return files


def xquad_files() -> dict[str, bytes]:
    """One Markdown file per German passage, titled by its neutral id.

    The English Wikipedia title would hand English questions a lexical hook that a German
    corpus does not have, so the passage id is the title.
    """
    return {
        f"{row['id']}.md": f"---\ntitle: \"{row['id']}\"\nlanguage: de\n---\n\n{row['text'].strip()}\n".encode()
        for row in xquad_passages()
    }


STORE_FILES: dict[str, Callable[[], dict[str, bytes]]] = {
    "one-report": one_report_files,
    "five-reports": five_report_files,
    "xquad": xquad_files,
}


def store_code_digest(root: Path = ROOT) -> str:
    """Hash of the Python source of every top-level package that builds stores."""
    digest = hashlib.sha256()
    for package in sorted(p for p in root.iterdir() if (p / "__init__.py").exists() and p.name not in _NOT_STORE_CODE):
        for path in sorted(package.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def store_key(files: Mapping[str, bytes], model: str, chunk_size: int, chunk_overlap: int, code: str) -> str:
    """Content hash of everything a store depends on."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    digest.update(f"{model}|{chunk_size}|{chunk_overlap}|{code}".encode())
    return digest.hexdigest()[:16]


def write_corpus(target: Path, files: Mapping[str, bytes]) -> Path:
    """Make `target` hold exactly `files` (unchanged files are left alone)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(target.rglob("*"), reverse=True):
        rel = str(path.relative_to(target))
        if path.is_file() and rel not in files:
            path.unlink()
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    return target


class StoreBuilder:
    """Builds (or re-uses) a named evaluation store and returns its index folder."""

    def __init__(self, settings, embedder_factory: Callable[[], object], work_dir: Path = STORES_DIR,
                 log: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.embedder_factory = embedder_factory
        self.work_dir = work_dir
        self.log = log

    def run(self, name: str) -> Path:
        if name not in STORE_FILES:
            raise ValueError(f"unknown store {name!r}; choose from {', '.join(STORE_FILES)}")
        files = STORE_FILES[name]()
        s = self.settings
        key = store_key(files, s.embedding_model, s.chunk_size, s.chunk_overlap, store_code_digest())
        index_dir = self.work_dir / name / f"index-{key}"
        if (index_dir / "CURRENT").exists():
            return index_dir
        from ingest.pipeline import Ingestor

        corpus = write_corpus(self.work_dir / name / "corpus", files)
        began = time.perf_counter()
        build = s.with_overrides(corpus_dir=corpus, index_dir=index_dir, show_progress=False)
        report = Ingestor(build, embedder_factory=self.embedder_factory).run()
        summary = report.summary() if hasattr(report, "summary") else report
        self.log(f"store {name} built in {time.perf_counter() - began:.0f} s: {summary}")
        return index_dir
