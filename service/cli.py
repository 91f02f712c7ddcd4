"""The `tagungsbot` command: ingest, serve, ask, search.

Heavy imports (torch, sentence-transformers) happen inside the commands that need
them, so `tagungsbot --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from typing import Sequence

from vectorstore.settings import Settings, load_settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """`settings` with what the command line overrides (folders, progress bar)."""
    from pathlib import Path

    overrides: dict[str, object] = {
        name: Path(value) for name in ("corpus_dir", "index_dir") if (value := getattr(args, name, None))
    }
    if getattr(args, "no_progress", False):
        overrides["show_progress"] = False
    return settings.with_overrides(**overrides) if overrides else settings


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import Ingestor

    report = Ingestor(settings).run(skip_unreadable=args.skip_unreadable)
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2) if args.json else report.summary())
    from vectorstore.embedding import prepare_model

    # The query-side model export (e.g. onnx-int8) is made now, so that `serve` starts in seconds.
    prepare_model(settings.embedding_model, settings.model_cache_dir, settings.embedding_backend)
    from service.translation import installed_dictionary

    installed_dictionary(settings.dictionary_path, settings.model_cache_dir)  # parsed once into the model cache
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.with_overrides(host=host, port=port, log_level=args.log_level or settings.log_level)
    from service.app import create_app
    from service.logging_config import configure_logging

    configure_logging(settings)
    workers = args.workers or settings.workers
    if workers > 1:
        return _serve_workers(settings, workers)
    app = create_app(settings)  # refuses an open service on a non-loopback host (service.security)
    uvicorn.run(app, host=host, port=port, workers=1, **_uvicorn_options(settings))
    return EXIT_OK


def _uvicorn_options(settings: Settings) -> dict:
    """What both serving modes give uvicorn: our logging, header limits, keep-alive, no proxy-header trust.

    uvicorn's own proxy-header handling is off: it would believe `X-Forwarded-For` from any
    local peer. Which proxies are trusted is decided by service.security.ClientAddress.
    """
    from service.http_protocol import HeaderLimits, protocol_with_limits

    limits = HeaderLimits(settings.max_header_bytes, settings.max_headers, settings.max_request_line_bytes)
    return dict(
        log_level=settings.log_level, access_log=False, log_config=None, proxy_headers=False,
        http=protocol_with_limits(limits), timeout_keep_alive=settings.keep_alive_s,
    )


def _serve_workers(settings: Settings, workers: int) -> int:
    """Several uvicorn worker processes on one port; each loads the model and memory-maps the
    same store files (the page cache holds one copy). uvicorn starts workers from an import
    string, so the command-line overrides travel to them as TAGUNGSBOT_* variables.

    What would stop every worker (an open service on a reachable address, an unwritable
    question log) is checked here, once, before any worker starts: the server exits 1 with
    one line instead of starting workers that fail. A worker that still cannot start ends
    the whole server (exit 1), never a restart loop.
    """
    from uvicorn import Config
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from service.logging_config import close_logger, question_logger
    from service.security import check_exposure

    check_exposure(settings)
    close_logger(question_logger(settings))
    settings.export_for_workers()
    config = Config(
        "service.app:create_worker_app", factory=True, host=settings.host, port=settings.port, workers=workers,
        **_uvicorn_options(settings),
    )
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = [p.pid for p in supervisor.processes if p.exitcode == STARTUP_FAILURE]
    if failed:
        print(f"tagungsbot: error: worker process {failed[0]} could not start (its log line above says why); "
              f"the server has stopped", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Ask a running service to re-ingest its corpus and swap the store (POST /api/admin/reindex)."""
    from service.reindex_client import reindex_remote

    key = args.key or (settings.admin_keys[0] if settings.admin_keys else None)
    job = reindex_remote(args.url, key, wait=not args.no_wait, timeout_s=args.timeout)
    print(json.dumps(job, ensure_ascii=False, indent=2) if args.json else _job_summary(job))
    return EXIT_OK if job.get("status") in {"succeeded", "running"} else EXIT_ERROR


def _job_summary(job: dict) -> str:
    if job.get("status") == "failed":
        return f"re-index job {job.get('id')} failed: {job.get('error')}"
    if job.get("status") == "running":
        return f"re-index job {job.get('id')} started; follow it with GET /api/admin/reindex/status"
    return f"re-index job {job.get('id')} {job.get('status')}: serving store {job.get('served_version')}"


def _load_qa(settings: Settings):
    from service.qa import QuestionAnswering
    from vectorstore.embedding import Embedder
    from vectorstore.store import open_store

    store = open_store(settings)
    store.manifest.check_model(settings.embedding_model)  # before the slow model load
    embedder = Embedder.load(
        settings.embedding_model, settings.model_cache_dir, settings.torch_threads, backend=settings.embedding_backend
    )
    store.manifest.check_model(settings.embedding_model, embedder.dimension)
    from service.retrieval import FusionWeights
    from service.translation import installed_dictionary

    return QuestionAnswering(
        store, embedder, FusionWeights.from_settings(settings),
        dictionary=installed_dictionary(settings.dictionary_path, settings.model_cache_dir),
    )


def _check_text(text: str, settings: Settings) -> str:
    """The API's check of a question (`service.question_text`), with the command line's example."""
    from service.question_text import checked_question

    if not text.strip():
        raise ValueError("the question is empty; pass it in quotes, e.g. tagungsbot ask \"Wann war die Tagung?\"")
    return checked_question(text, settings.max_question_chars)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from service.schemas import AskResponse

    question = _check_text(args.question, settings)
    qa = _load_qa(settings)
    result = qa.ask(question, args.top_k or settings.top_k)
    response = AskResponse.of(result.answer, result.took_ms)
    if args.json:
        print(response.model_dump_json(indent=2))
        return EXIT_OK
    print(response.answer)
    for c in response.citations:
        where = f"{c.title}" + (f" › {c.section}" if c.section else "")
        print(f"\n[{c.ref}] {where} (Zeichen {c.start}–{c.end})\n    {c.text}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from service.schemas import SearchResponse

    query = _check_text(args.query, settings)
    qa = _load_qa(settings)
    result = qa.search(query, args.k or settings.top_k)
    response = SearchResponse.of(query, result)
    if args.json:
        print(response.model_dump_json(indent=2))
        return EXIT_OK
    for row in response.results:
        print(f"[{row.ref}] {row.score:.3f}  {row.title} › {row.section or '–'}\n    {row.text[:300]}\n")
    return EXIT_OK


def _run_bench_module(module: str, argv: list[str]) -> int:
    """Run `python -m <module>` of the checkout's bench/ (not part of the installed package)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if not (root / Path(*module.split("."))).with_suffix(".py").exists():
        raise ValueError(f"{module} not found under {root}; run this command from a checkout of the project")
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=root).returncode


def cmd_eval(args: argparse.Namespace, _settings: Settings) -> int:
    """Answer quality per set and kind: `python -m bench.evaluate` in the project checkout."""
    argv = [f"--only={args.only}"] if args.only else []
    argv += [f"--url={args.url}"] if args.url else []
    argv += [f"--limit={args.limit}"] if args.limit else []
    argv += [f"--folds={args.folds}"] if args.folds else []
    argv += ["--no-write"] if args.no_write else []
    return _run_bench_module("bench.evaluate", argv)


def cmd_bench(args: argparse.Namespace, _settings: Settings) -> int:
    """Performance benchmarks: `python -m bench.perf.run_all` in the project checkout."""
    argv = [f"--only={args.only}"] if args.only else []
    argv += ["--quick"] if args.quick else []
    argv += [f"--out={args.out}"] if args.out else []
    return _run_bench_module("bench.perf.run_all", argv)


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()  # the help states the defaults that apply when neither flag nor variable is set
    parser = argparse.ArgumentParser(prog="tagungsbot", description="Offline question answering over conference documents.")
    parser.add_argument("--corpus-dir", dest="corpus_dir", help="overrides TAGUNGSBOT_CORPUS_DIR")
    parser.add_argument("--index-dir", dest="index_dir", help="overrides TAGUNGSBOT_INDEX_DIR")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="build or update the vector store from the corpus folder")
    p.add_argument("--skip-unreadable", action="store_true", help="leave out files that cannot be read instead of stopping")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("serve", help="run the HTTP service (API, search page, widget)")
    p.add_argument("--host", help=f"default {defaults.host} (TAGUNGSBOT_HOST)")
    p.add_argument("--port", type=int, help=f"default {defaults.port} (TAGUNGSBOT_PORT)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                   help=f"default {defaults.log_level} (TAGUNGSBOT_LOG_LEVEL)")
    p.add_argument(
        "--workers", type=int,
        help=f"worker processes (TAGUNGSBOT_WORKERS, default {defaults.workers}); each loads its own model: about "
             "0.6 GB RSS per worker (measured 571 MB with the bundled model, ONNX runtime); rate limits count per worker",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, dest="top_k")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("search", help="list the passages that match a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, dest="k")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("reindex", help="make a running service re-ingest the corpus and swap the store (admin key)")
    local = f"http://{defaults.host}:{defaults.port}"
    p.add_argument("--url", default=local, help=f"base URL of the service (default {local})")
    p.add_argument("--key", help="admin key (default: the first of TAGUNGSBOT_ADMIN_KEYS)")
    p.add_argument("--no-wait", action="store_true", help="return once the job has started")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the job (default 600)")
    p.add_argument("--json", action="store_true", help="print the job as JSON")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("eval", help="measure answer quality per set and kind (conference, events, XQuAD); see bench/evaluate.py")
    p.add_argument("--only", choices=["conference", "events", "xquad", "followups"], help="run one set only")
    p.add_argument("--url", help="ask a running service (POST URL/api/ask) for the conference and event sets")
    p.add_argument("--limit", type=int, help="XQuAD: first N questions per language")
    p.add_argument("--folds", type=int, help="XQuAD: article folds (default 4)")
    p.add_argument("--no-write", action="store_true", help="print only, write no files to bench/results/")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="measure latency, throughput, cold start and scale; see docs/performance.md")
    p.add_argument("--only", help="comma-separated: backends, cold_start, latency, ask_new, ingest_throughput, scale")
    p.add_argument("--quick", action="store_true", help="small sizes, one run each (checks the scripts, no figures)")
    p.add_argument("--out", help="folder for the JSON results (default bench/results/)")
    p.set_defaults(func=cmd_bench)

    from service.commands import documents, reports

    documents.register(sub)
    reports.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from service.logging_config import quiet_third_party_loggers

    quiet_third_party_loggers()
    parser = build_parser()
    args = parser.parse_args(argv)
    from ingest.loaders import LoadError
    from vectorstore.errors import TagungsbotError

    try:
        settings = _with_flags(load_settings(), args)  # the one read of the environment; every command gets it
        return int(args.func(args, settings))
    except (TagungsbotError, LoadError, ValueError) as exc:
        print(f"tagungsbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tagungsbot: interrupted; the previous store is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
