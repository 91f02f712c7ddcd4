"""Load at saturation against a real server, with a hot re-index in the middle.

Closed-loop asyncio clients (httpx) keep more requests in flight than the server has
cores, so it runs flat out. Meanwhile a new corpus file with a unique fact is added and
POST /api/admin/reindex runs the real ingest in a child process of the server. The load
runs 30 s, longer if the job needs it (at most `MAX_JOB_S`). The child runs at nice 0 here
(TAGUNGSBOT_REINDEX_NICE): at the default nice 10 it gets only a few per cent of a
saturated machine, and the test would wait minutes; its priority is tested in
test_reindex_process.py. Must hold:

* 0 failed requests (every response 200 with a well-formed body), before, during and
  after the swap;
* every response comes from exactly one store version (the X-Tagungsbot-Store header),
  and any answer citing the new document comes from the new version;
* answers switch to the new document (we report how long that took);
* no leak under load: the server's resident memory (VmRSS) grows by at most 5% while one
  store is served — from after warm-up to just before the re-index, and from the new store's
  warm-up (a few seconds after the switch) to the end;
* the ingest leaves nothing in the server: its total growth, from after warm-up to the end
  (holding the new store version included), is at most 10%.

The figures are written to test-artifacts/load-reindex.json.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, base_env, run_async, start_server

ADMIN_KEY = "load-admin-0c4f"
TOOL_KEY = "load-tool-a17e"
WORKERS = 6
WARMUP_S = 6.0
DURATION_S = 30.0
REINDEX_AT_S = 8.0
SWITCH_WARMUP_S = 3.0
MAX_RSS_GROWTH = 0.05
MAX_TOTAL_RSS_GROWTH = 0.10
MAX_JOB_S = 150.0
AFTER_SWITCH_S = 6.0

NEW_DOC = "nachtrag-2026.md"
NEW_TEXT = (
    "# Nachtrag: Fachtagung 2026\n\n"
    "Die Fachtagung Qualitätsarbeit 2026 findet am 14. Oktober 2026 im Zeppelin-Museum in Friedrichshafen statt.\n"
)
PROBE = "Wo findet die Fachtagung Qualitätsarbeit 2026 statt?"

QUESTIONS = [
    "Wer hat BAKIRA vorgestellt?", "Who presented BAKIRA?", "Wann fand die Fachtagung statt?",
    "Was sind Innovationsräume?", "Wer hielt die Keynote?", "Wo fand die Fachtagung statt?",
    "Welche Jobcenter haben Projekte vorgestellt?", "What is the topic of the conference?",
    "Was zeigte das Team aus dem Odenwaldkreis?", "Wer ist Geschäftsführer des Jobcenters Stuttgart?",
    "Welche Rolle spielt Digitalisierung in den Jobcentern?", "Who organised the conference?",
    "Was ist die Servicestelle SGB II?", "Wie viele Teilnehmende gab es?", "Was wurde über Qualität gesagt?",
    "Welche Foren gab es am zweiten Tag?", "What was said about quality management?",
    "Wer moderierte die Veranstaltung?", "Was ist das Erfolgskonzept Innovationsräume?",
    "Wie hoch ist der Regelsatz im Bürgergeld 2026?",
]


@dataclass
class LoadFigures:
    requests: int = 0
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    requests_per_s: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    rss_after_warmup_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_growth_pct: float = 0.0
    rss_before_reindex_mb: float = 0.0
    rss_after_switch_mb: float = 0.0
    rss_growth_before_reindex_pct: float = 0.0
    rss_growth_after_switch_pct: float = 0.0
    old_version: str = ""
    new_version: str = ""
    versions_seen: dict[str, int] = field(default_factory=dict)
    reindex_job_s: float | None = None
    switch_after_reindex_s: float | None = None
    new_doc_from_old_version: int = 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def well_formed(response: httpx.Response, kind: str) -> bool:
    if response.status_code != 200:
        return False
    body = response.json()
    return isinstance(body.get("answer"), str) if kind == "ask" else isinstance(body.get("results"), list)


def cites_new_doc(body: dict) -> bool:
    return any(c.get("doc_id") == NEW_DOC for c in body.get("citations", []))


@pytest.mark.slow
def test_saturation_load_with_hot_reindex(built_index: Path, tmp_path: Path, artifacts_dir: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    shutil.copytree(built_index, index, symlinks=True)
    env = base_env(
        index, corpus, TAGUNGSBOT_API_KEYS=TOOL_KEY, TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY,
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="1000000", TAGUNGSBOT_RATE_LIMIT_BURST="100000",
        TAGUNGSBOT_MAX_CONCURRENT_EMBEDDINGS="4", TAGUNGSBOT_EMBEDDING_WAIT_S="30", TAGUNGSBOT_REINDEX_NICE="0",
    )
    server = start_server(env, tmp_path)
    try:
        figures = run_async(run_load(server.url, server.process.pid, corpus))
    finally:
        server.stop()
    (artifacts_dir / "load-reindex.json").write_text(json.dumps(asdict(figures), indent=2), encoding="utf-8")
    print("\nload + hot re-index:", json.dumps(asdict(figures), indent=2))

    assert figures.requests > 100, "the load did not get going"
    assert figures.failures == 0, figures.failure_samples
    assert figures.new_version and figures.new_version != figures.old_version
    assert set(figures.versions_seen) == {figures.old_version, figures.new_version}
    assert figures.switch_after_reindex_s is not None, "answers never switched to the new document"
    assert figures.new_doc_from_old_version == 0
    assert figures.rss_growth_before_reindex_pct <= MAX_RSS_GROWTH * 100, figures
    assert figures.rss_growth_after_switch_pct <= MAX_RSS_GROWTH * 100, figures
    assert figures.rss_growth_pct <= MAX_TOTAL_RSS_GROWTH * 100, figures


async def run_load(url: str, pid: int, corpus: Path) -> LoadFigures:
    figures = LoadFigures()
    latencies: list[float] = []
    headers = {"X-API-Key": TOOL_KEY}
    measuring = False
    stop_at = time.monotonic() + WARMUP_S + DURATION_S + 60  # replaced once measuring starts
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=WORKERS + 4)) as client:

        def record(response: httpx.Response | None, kind: str, took: float, error: str | None = None) -> None:
            if not measuring:
                return
            figures.requests += 1
            latencies.append(took * 1000)
            if response is None or not well_formed(response, kind):
                figures.failures += 1
                if len(figures.failure_samples) < 5:
                    figures.failure_samples.append(error or f"{kind} {response.status_code} {response.text[:200]}")
                return
            version = response.headers.get("x-tagungsbot-store", "?")
            figures.versions_seen[version] = figures.versions_seen.get(version, 0) + 1
            if kind == "ask" and cites_new_doc(response.json()) and version == figures.old_version:
                figures.new_doc_from_old_version += 1

        async def one(kind: str, question: str) -> httpx.Response | None:
            began = time.monotonic()
            try:
                if kind == "ask":
                    response = await client.post("/api/ask", json={"question": question}, headers=headers)
                else:
                    response = await client.get("/api/search", params={"q": question, "k": 5}, headers=headers)
            except httpx.HTTPError as exc:
                record(None, kind, time.monotonic() - began, f"{kind}: {type(exc).__name__}: {exc}")
                return None
            record(response, kind, time.monotonic() - began)
            return response

        async def worker(number: int) -> None:
            n = 0
            while time.monotonic() < stop_at:
                question = QUESTIONS[(number * 7 + n) % len(QUESTIONS)]
                if n % 2:  # half the questions are new to the query cache, so they are embedded
                    question = f"{question} ({number}.{n})"
                await one("search" if n % 3 == 2 else "ask", question)
                n += 1

        workers = [asyncio.create_task(worker(i)) for i in range(WORKERS)]
        await asyncio.sleep(WARMUP_S)
        ready = (await client.get("/readyz")).json()
        figures.old_version = ready["store_version"]
        figures.rss_after_warmup_mb = rss_kib(pid) / 1024
        measuring = True
        began = time.monotonic()
        stop_at = began + DURATION_S
        peak = figures.rss_after_warmup_mb

        await asyncio.sleep(REINDEX_AT_S)
        figures.rss_before_reindex_mb = rss_kib(pid) / 1024
        (corpus / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
        admin = {"X-API-Key": ADMIN_KEY}
        started = await client.post("/api/admin/reindex", headers=admin)
        assert started.status_code == 202, started.text
        reindex_began = time.monotonic()
        stop_at = max(stop_at, reindex_began + MAX_JOB_S)  # the load goes on until the switch (bounded)
        while time.monotonic() < stop_at:  # probe until answers cite the new document
            peak = max(peak, rss_kib(pid) / 1024)
            response = await one("ask", PROBE)
            if response is not None and response.status_code == 200 and cites_new_doc(response.json()):
                figures.switch_after_reindex_s = round(time.monotonic() - reindex_began, 2)
                figures.new_version = response.headers["x-tagungsbot-store"]
                await asyncio.sleep(SWITCH_WARMUP_S)  # the new store warms up as the first one did
                figures.rss_after_switch_mb = rss_kib(pid) / 1024
                stop_at = max(began + DURATION_S, time.monotonic() + AFTER_SWITCH_S)
                break
            await asyncio.sleep(0.25)
        job = (await client.get("/api/admin/reindex/status", headers=admin)).json()
        figures.reindex_job_s = job.get("seconds")
        assert job["status"] in {"succeeded", "running"}, job
        while time.monotonic() < stop_at:
            peak = max(peak, rss_kib(pid) / 1024)
            await asyncio.sleep(0.5)
        await asyncio.gather(*workers)
        elapsed = time.monotonic() - began

    figures.rss_end_mb = rss_kib(pid) / 1024
    figures.rss_peak_mb = round(max(peak, figures.rss_end_mb), 1)
    figures.rss_growth_pct = round(100 * (figures.rss_end_mb - figures.rss_after_warmup_mb) / figures.rss_after_warmup_mb, 2)
    figures.rss_growth_before_reindex_pct = round(
        100 * (figures.rss_before_reindex_mb - figures.rss_after_warmup_mb) / figures.rss_after_warmup_mb, 2
    )
    if figures.rss_after_switch_mb:
        figures.rss_growth_after_switch_pct = round(
            100 * (figures.rss_end_mb - figures.rss_after_switch_mb) / figures.rss_after_switch_mb, 2
        )
    figures.rss_after_warmup_mb = round(figures.rss_after_warmup_mb, 1)
    figures.rss_before_reindex_mb = round(figures.rss_before_reindex_mb, 1)
    figures.rss_after_switch_mb = round(figures.rss_after_switch_mb, 1)
    figures.rss_end_mb = round(figures.rss_end_mb, 1)
    figures.requests_per_s = round(figures.requests / elapsed, 1)
    if latencies:
        figures.latency_ms_p50 = round(statistics.median(latencies), 1)
        figures.latency_ms_p95 = round(statistics.quantiles(latencies, n=20)[-1], 1)
    return figures
