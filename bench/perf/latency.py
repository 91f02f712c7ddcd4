"""Query latency and throughput of /api/ask and /api/search: in-process and over HTTP.

In-process: the real `QuestionAnswering` over the conference store, one question at a
time. Over HTTP: a real `tagungsbot serve` child on 127.0.0.1, first sequentially, then
with 4 / 16 / 64 concurrent clients (asyncio + httpx; each level bounded in requests and
seconds). Every run starts a fresh server, so its first pass over the questions misses the
query cache ("uncached") and later passes hit it ("cached"). The "distinct" load uses the
conference plus the XQuAD questions (about 1,300 different texts), so that under load most
questions are embedded for real.

The per-client rate limit is off for the benchmark (all load comes from one address).
The load generator runs on the same two cores as the server and takes a share of them.

    python -m bench.perf.latency                    # 3 runs, writes bench/results/perf_latency.json
    python -m bench.perf.latency --runs 1 --levels 4 --seconds 2 --out /tmp/x   # quick look

`main_new` (`tagungsbot bench --only ask_new`, or `python -m bench.perf.run_all --only ask_new`) measures the issue-11 target alone: /api/ask over HTTP with every
question new, i.e. the conference and event-set questions, each sent once to a fresh server
over the five-report store, so every request embeds its question (no query cache); then the
same on another fresh server as a chat (issue 12 target): each question with the turn before
it as `history`, plus the follow-up set with its own histories. It writes
bench/results/perf_ask_new.json; target p50 ≤ 15 ms (both), p95 ≤ 40 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
from pathlib import Path
from typing import Any, Sequence

from bench.datasets import followup_cases
from bench.perf.common import (
    REPO, RESULTS, WORK, XQUAD, conference_questions, ensure_conference_index, event_questions, load_embedder, machine_facts,
    merge_runs, percentiles, read_jsonl, server_env, start_server, write_result,
)
from vectorstore.settings import Settings, load_settings

ENDPOINTS = ("ask", "search")


def request_args(endpoint: str, question: str) -> tuple[str, str, dict[str, Any]]:
    """Method, path and httpx keyword arguments of one request to `endpoint`."""
    if endpoint == "ask":
        return "POST", "/api/ask", {"json": {"question": question}}
    return "GET", "/api/search", {"params": {"q": question}}


def distinct_questions() -> list[str]:
    """Conference questions followed by the XQuAD questions (German and English), shuffled."""
    pool = [q["question"] for lang in ("de", "en") for q in read_jsonl(XQUAD / f"questions.{lang}.jsonl")]
    random.Random(7).shuffle(pool)
    return conference_questions() + pool


# --------------------------------------------------------------------------- in-process


def in_process(settings: Settings, index_dir: Path, questions: Sequence[str], passes: int) -> dict[str, Any]:
    """Latency of `QuestionAnswering.ask/search` without HTTP; pass 1 uncached, then cached."""
    from service.qa import QuestionAnswering
    from vectorstore.faiss_store import FaissStore

    embedder = load_embedder(settings, settings.embedding_backend)
    qa = QuestionAnswering(FaissStore.load(index_dir), embedder)
    qa.ask("Wann fand die Tagung statt?", settings.top_k)  # first call pays one-time set-up
    out: dict[str, Any] = {}
    for name in ENDPOINTS:
        call = qa.ask if name == "ask" else qa.search
        embedder.clear_cache()
        for label, n in (("uncached", 1), ("cached", passes)):
            lat = []
            for _ in range(n):
                for q in questions:
                    began = time.perf_counter()
                    call(q, settings.top_k)
                    lat.append((time.perf_counter() - began) * 1000)
            out[f"{name}_{label}"] = percentiles(lat)
    out["encode_query_uncached"] = _encode_latency(embedder, questions)
    out.update(_breakdown(qa, questions, settings.top_k))
    return out


def _breakdown(qa, questions: Sequence[str], top_k: int) -> dict[str, dict[str, float]]:
    """Where a cached /api/ask spends its time: retrieval (BM25 + FAISS + fusion) and the rest
    (question analysis, answer composition), the rest being the whole `ask` minus a retrieval
    of the same question. Measured through the public `ask` and `retriever.run` only, so it
    holds however the answering core is built."""
    from vectorstore.text.language import detect_language

    for q in questions:  # the parts are measured with cached question vectors
        qa.retriever.embedder.encode_query(q)
    retrieval_ms, answer_ms = [], []
    for q in questions:
        language = detect_language(q)
        began = time.perf_counter()
        qa.retriever.run(q, top_k, language)
        middle = time.perf_counter()
        qa.ask(q, top_k)
        retrieval = (middle - began) * 1000
        retrieval_ms.append(retrieval)
        answer_ms.append(max(0.0, (time.perf_counter() - middle) * 1000 - retrieval))
    return {"ask_cached_retrieval_part": percentiles(retrieval_ms), "ask_cached_answer_part": percentiles(answer_ms)}


def _encode_latency(embedder, questions: Sequence[str]) -> dict[str, float]:
    embedder.clear_cache()
    lat = []
    for q in questions:
        began = time.perf_counter()
        embedder.encode_query(q)
        lat.append((time.perf_counter() - began) * 1000)
    embedder.clear_cache()
    return percentiles(lat)


# --------------------------------------------------------------------------- HTTP


def sequential(url: str, endpoint: str, questions: Sequence[str], passes: int) -> dict[str, Any]:
    """One client, one request at a time; pass 1 over `questions` is uncached on a fresh server."""
    import httpx

    out: dict[str, Any] = {}
    errors = 0
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for label, n in (("uncached", 1), ("cached", passes)):
            lat = []
            for _ in range(n):
                for q in questions:
                    began = time.perf_counter()
                    method, path, kwargs = request_args(endpoint, q)
                    response = client.request(method, path, **kwargs)
                    lat.append((time.perf_counter() - began) * 1000)
                    errors += response.status_code != 200
            out[label] = percentiles(lat)
    out["errors"] = errors
    return out


async def _load(url: str, endpoint: str, questions: Sequence[str], clients: int, max_requests: int,
                seconds: float) -> dict[str, Any]:
    import httpx

    feed = itertools.cycle(questions)
    lat: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    deadline = time.perf_counter() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < max_requests and time.perf_counter() < deadline:
            sent += 1
            question = next(feed)
            began = time.perf_counter()
            try:
                method, path, kwargs = request_args(endpoint, question)
                response = await client.request(method, path, **kwargs)
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            lat.append((time.perf_counter() - began) * 1000)
            if status != "200":
                errors[status] = errors.get(status, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    return {
        "clients": clients, "requests": len(lat), "seconds": round(elapsed, 2),
        "requests_per_s": round(len(lat) / elapsed, 1), "errors": sum(errors.values()), "error_kinds": errors,
        "latency_ms": percentiles(lat),
    }


def concurrent(url: str, endpoint: str, questions: Sequence[str], clients: int, max_requests: int,
               seconds: float) -> dict[str, Any]:
    """`clients` concurrent clients, each sending its next request when the last one is answered."""
    return asyncio.run(_load(url, endpoint, questions, clients, max_requests, seconds))


def http_run(index_dir: Path, questions: Sequence[str], levels: Sequence[int], passes: int, seconds: float,
             max_requests: int, workers: int) -> dict[str, Any]:
    """Per endpoint one fresh server (so its first pass is uncached): sequential, then each
    concurrency level with the conference questions repeated; for /api/ask also distinct questions."""
    distinct = distinct_questions()[len(conference_questions()):]
    run: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        server = start_server(server_env(index_dir), WORK / "logs", workers=workers)
        try:
            run[f"{endpoint}_ready_s"] = round(server.ready_s, 3)
            run[f"{endpoint}_sequential"] = sequential(server.url, endpoint, questions, passes)
            for clients in levels:
                run[f"{endpoint}_c{clients}_repeated"] = concurrent(
                    server.url, endpoint, questions, clients, max_requests, seconds
                )
            if endpoint == "ask" and levels:
                clients = 16 if 16 in levels else levels[0]
                run[f"ask_c{clients}_distinct"] = concurrent(server.url, "ask", distinct, clients, max_requests, seconds)
            run[f"{endpoint}_rss_mb_after"] = server.rss_mb()
        finally:
            server.stop()
    return run


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs of the figures the targets are about."""
    summary: dict[str, Any] = {}
    for key in runs[0]:
        value = runs[0][key]
        if not isinstance(value, dict):
            continue
        if "latency_ms" in value:
            summary[key] = {
                "requests_per_s": merge_runs([r[key] for r in runs])["requests_per_s"],
                "errors": sum(r[key]["errors"] for r in runs),
                "latency_ms": merge_runs([r[key]["latency_ms"] for r in runs]),
            }
        elif "uncached" in value:
            summary[key] = {
                label: merge_runs([r[key][label] for r in runs]) for label in ("uncached", "cached")
            } | {"errors": sum(r[key]["errors"] for r in runs)}
    summary.update({k: v for k, v in merge_runs(runs).items() if k.endswith(("_ready_s", "_rss_mb_after"))})
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="fresh servers (and in-process passes); medians are reported")
    parser.add_argument("--levels", default="4,16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--passes", type=int, default=3, help="cached passes over the questions per run")
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit of one concurrency level")
    parser.add_argument("--max-requests", type=int, default=3000, help="request limit of one concurrency level")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server")
    parser.add_argument("--index-dir", type=Path, help="store to serve (default: conference corpus, built once)")
    parser.add_argument("--questions", type=int, default=0, help="use only the first N conference questions (smoke)")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for perf_latency.json")
    args = parser.parse_args(argv)
    index_dir = args.index_dir or ensure_conference_index()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    questions = conference_questions()[: args.questions or None]
    settings = load_settings()
    in_proc = [] if args.skip_in_process else [
        in_process(settings, index_dir, questions, args.passes) for _ in range(args.runs)
    ]
    runs = []
    for i in range(args.runs):
        print(f"latency: HTTP run {i + 1}/{args.runs} ...", flush=True)
        runs.append(http_run(index_dir, questions, levels, args.passes, args.seconds, args.max_requests, args.workers))
    payload = {
        "benchmark": "latency", "machine": machine_facts(),
        "embedding_backend": settings.embedding_backend, "workers": args.workers,
        "questions": len(questions), "runs": args.runs,
        "in_process": {k: merge_runs([r[k] for r in in_proc]) for k in in_proc[0]} if in_proc else None,
        "http": summarise(runs), "http_runs": runs,
        "note": "medians over runs; each run is a fresh server; 'uncached' = first pass over the questions "
                "(query cache empty), 'cached' = later passes; rate limit off; the load generator shares the 2 cores",
    }
    path = write_result("perf_latency", payload, args.out)
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------- every question new

TARGET_P50_MS, TARGET_P95_MS = 15.0, 40.0
# Sent before the measured questions so lazy set-up is not measured; not in any question set.
WARM_UP = ("Aufwärmfrage eins für den Messlauf?", "Warm-up question two of the benchmark run?")


def ensure_five_report_index() -> Path:
    """The store the event questions assume (corpus/ + bench/data/events/), built once by `tagungsbot ingest`."""
    from bench.stores import five_report_files, write_corpus

    corpus = write_corpus(WORK / "five-reports-corpus", five_report_files())
    return ensure_conference_index(WORK / "five-reports-index", corpus_dir=corpus)


def new_questions() -> list[str]:
    """Conference and event-set questions, each text once, in file order."""
    return list(dict.fromkeys(conference_questions() + event_questions()))


def every_question_new(url: str, questions: Sequence[str], with_history: bool = False) -> dict[str, Any]:
    """Each question once, one at a time: a fresh server has none of them in its query cache.

    `with_history`: as in a chat, each question carries the turn before it (the previous
    question and the answer the server gave), and the follow-up set's questions come with
    their own histories; the conversation is resolved on every request."""
    import httpx

    lat, errors = [], 0
    turns: list[tuple[str, list[dict[str, str]] | None]] = [(q, None) for q in questions]
    if with_history:
        turns += [(case.question, list(case.history)) for case in followup_cases()]
    previous: dict[str, str] | None = None
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for question in WARM_UP:
            client.post("/api/ask", json={"question": question})
        for question, history in turns:
            body: dict[str, Any] = {"question": question}
            if with_history:
                body["history"] = history if history is not None else ([previous] if previous else [])
            began = time.perf_counter()
            response = client.post("/api/ask", json=body)
            lat.append((time.perf_counter() - began) * 1000)
            errors += response.status_code != 200
            if response.status_code == 200:
                previous = {"question": question, "answer": response.json()["answer"][:4000]}
    return {"latency_ms": percentiles(lat), "errors": errors, "requests": len(turns)}


def main_new(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="/api/ask over HTTP, every question new (issue 11 target)")
    parser.add_argument("--runs", type=int, default=3, help="fresh servers; medians are reported")
    parser.add_argument("--index-dir", type=Path, help="store to serve (default: the five-report store, built once)")
    parser.add_argument("--questions", type=int, default=0, help="use only the first N questions (smoke)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for perf_ask_new.json")
    args = parser.parse_args(argv)
    index_dir = args.index_dir or ensure_five_report_index()
    questions = new_questions()[: args.questions or None]
    runs, chat_runs = [], []
    for i in range(args.runs):
        for with_history, into in ((False, runs), (True, chat_runs)):
            label = "with history" if with_history else "standalone"
            print(f"ask_new: run {i + 1}/{args.runs}, {label} ({len(questions)} questions, fresh server) ...", flush=True)
            server = start_server(server_env(index_dir), WORK / "logs")
            try:
                into.append(every_question_new(server.url, questions, with_history))
            finally:
                server.stop()
    latency = merge_runs([r["latency_ms"] for r in runs])
    chat_latency = merge_runs([r["latency_ms"] for r in chat_runs])
    payload = {
        "benchmark": "ask_new", "machine": machine_facts(), "embedding_backend": load_settings().embedding_backend,
        "store": str(index_dir.relative_to(REPO)) if index_dir.is_relative_to(REPO) else str(index_dir),
        "questions": len(questions), "runs": args.runs,
        "ask_every_question_new": {
            "latency_ms": latency, "errors": sum(r["errors"] for r in runs),
            "target_ms": {"p50": TARGET_P50_MS, "p95": TARGET_P95_MS},
            "meets_target": bool(latency.get("p50") is not None and latency["p50"] <= TARGET_P50_MS
                                 and latency["p95"] <= TARGET_P95_MS),
        },
        "ask_with_history_every_question_new": {
            "latency_ms": chat_latency, "errors": sum(r["errors"] for r in chat_runs),
            "requests_per_run": chat_runs[0]["requests"] if chat_runs else 0,
            "target_ms": {"p50": TARGET_P50_MS},
            "meets_target": bool(chat_latency.get("p50") is not None and chat_latency["p50"] <= TARGET_P50_MS),
        },
        "per_run": runs,
        "per_run_with_history": chat_runs,
        "note": "sequential client on the same 2 cores as the server; each run a fresh server, each question sent "
                "once per run (never in the query cache); two warm-up questions outside the sets first; "
                "medians over runs; rate limit off",
    }
    path = write_result("perf_ask_new", payload, args.out)
    print(f"ask_new: p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms; with history p50 "
          f"{chat_latency.get('p50')} ms, p95 {chat_latency.get('p95')} ms; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
