"""Hot re-index of many new documents while 16 clients ask questions (issue 15, row 7).

    python -m bench.perf.reindex_under_load                 # 300 documents, 16 clients (~10 min on 2 cores)
    python -m bench.perf.reindex_under_load --docs 20 --clients 4 --phase-s 8 --out /tmp/x   # quick look

What it does, all on 127.0.0.1 and bounded in time (`--max-minutes`):

1. copies corpus/ into a temporary folder, builds its store, and writes `--docs` small
   synthetic German documents (invented clubs, towns, dates; generated here) aside;
2. starts `tagungsbot serve` (one worker, defaults) and runs `--clients` closed-loop
   clients: warm-up, then `--phase-s` seconds "before";
3. moves the new documents into the corpus, POSTs /api/admin/reindex and keeps the load
   going until the job ends ("during"), then `--phase-s` seconds "after";
4. stops that server and starts a fresh one over the new store, with the same warm-up and
   `--phase-s` seconds of load, to compare resident memory (VmRSS) at the end of the load.

Must hold (exit code 1 otherwise): 0 failed requests in every phase, the job succeeded,
and the re-indexed server's RSS is within `--max-rss-excess` (10 %) of the fresh server's.
Results: bench/results/perf_reindex_under_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.perf.common import (
    REPO, RESULTS, conference_questions, machine_facts, percentiles, server_env, start_server, vm_rss_mb, write_result,
)

ADMIN_KEY = "bench-reindex-admin"
ADMIN = {"X-API-Key": ADMIN_KEY}

# Invented material for the synthetic documents: no real club, town or person is meant.
TOWNS = [
    "Altenbrück", "Bergheide", "Dornstetten am See", "Eichenrode", "Falkenwiese", "Grünhagen", "Hasselbach",
    "Ilmenhof", "Kirchwalde", "Lindenau an der Weide", "Moosbrunn", "Niederfeld", "Obersteinach", "Quellental",
    "Rabenau", "Sonnenberg-Ost", "Tannhausen", "Uferstadt", "Vogelsang", "Wiesenthal",
]
CLUBS = [  # (name, genitive with article)
    ("Heimatverein", "des Heimatvereins"), ("Kulturkreis", "des Kulturkreises"),
    ("Bürgerinitiative", "der Bürgerinitiative"), ("Sportgemeinschaft", "der Sportgemeinschaft"),
    ("Förderverein", "des Fördervereins"),
]
EVENTS = [  # (name, article)
    ("Sommerfest", "das"), ("Herbstmarkt", "der"), ("Lesung", "die"), ("Mitgliederversammlung", "die"),
    ("Wandertag", "der"), ("Flohmarkt", "der"), ("Konzert", "das"), ("Tag der offenen Tür", "der"),
]
PLACES = [
    "im Gemeindehaus", "auf dem Marktplatz", "in der Turnhalle der Grundschule", "im Pfarrgarten",
    "in der alten Mühle", "am Bootssteg", "im Saal des Gasthofs zur Linde", "auf der Festwiese",
]
FIRST = ["Anna", "Bernd", "Carla", "Dieter", "Elif", "Frank", "Greta", "Hakan", "Ines", "Jonas", "Katrin", "Lars"]
LAST = ["Albers", "Brenner", "Cordes", "Dietz", "Ebert", "Fuchs", "Gerber", "Hollmann", "Iske", "Jahn", "Kessler"]
CAUSES = ["Jugendfeuerwehr", "Kinderkrippe", "Dorfbücherei", "Streuobstwiese", "Seniorenbegegnung"]
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"]


@dataclass(frozen=True)
class SyntheticDoc:
    name: str
    text: str
    question: str
    expected: str  # a string the answer to `question` should contain


def synthetic_documents(count: int, seed: int = 15) -> list[SyntheticDoc]:
    """`count` distinct small German announcements of invented clubs, each with one question."""
    rng = random.Random(seed)
    combos = [(t, c, e) for e in EVENTS for c in CLUBS for t in TOWNS]
    rng.shuffle(combos)
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} distinct documents can be generated, not {count}")
    docs = []
    for number, (town, (club, club_gen), (event, article)) in enumerate(combos[:count]):
        day, month = rng.randint(1, 28), rng.choice(MONTHS)
        lead = f"{FIRST[rng.randrange(len(FIRST))]} {LAST[rng.randrange(len(LAST))]}"
        contact = f"{FIRST[rng.randrange(len(FIRST))]} {LAST[rng.randrange(len(LAST))]}"
        place = rng.choice(PLACES)
        guests = rng.randrange(30, 400, 10)
        date = f"{day}. {month} 2026"
        text = (
            f"# {event} {club_gen} {town}\n\n"
            f"{article.capitalize()} {event} {club_gen} {town} findet am {date} {place} statt. "
            f"Die Leitung hat {lead} übernommen. Erwartet werden etwa {guests} Gäste aus {town} und den Nachbarorten.\n\n"
            f"## Ablauf\n\n"
            f"Um 14 Uhr begrüßt der Vorstand die Gäste. Danach gibt es Kaffee und Kuchen, "
            f"den Mitglieder {club_gen} selbst backen. Der Eintritt ist frei; Spenden kommen der {rng.choice(CAUSES)} zugute.\n\n"
            f"## Anmeldung\n\n"
            f"Anmeldungen nimmt {contact} bis eine Woche vorher entgegen. "
            f"Bei schlechtem Wetter weicht {article} {event} in das Gemeindehaus aus.\n"
        )
        slug = f"{number:03d}-{event}-{club}-{town}".lower().replace(" ", "-")
        question = f"Wann findet {article} {event} {club_gen} {town} statt?"
        docs.append(SyntheticDoc(f"{slug}.md", text, question, date))
    return docs


@dataclass
class Phase:
    """Load figures of one phase (before / during / after the job, or the fresh server)."""

    name: str
    seconds: float = 0.0
    requests: int = 0
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    requests_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    server_rss_mb_end: float = 0.0
    server_rss_mb_peak: float = 0.0


class Load:
    """Closed-loop clients against one server; `phase()` measures until a condition or a time."""

    def __init__(self, url: str, pid: int, clients: int, questions: list[str], deadline: float, think_s: float = 0.0) -> None:
        self.url, self.pid, self.clients, self.questions, self.deadline = url, pid, clients, questions, deadline
        self.think_s = think_s  # pause of each client between its requests (0: closed loop, flat out)
        self.current: Phase | None = None
        self.between = Phase("between phases")  # requests while no phase is measured still count
        self._latencies: list[float] = []
        self._stop = False

    async def _client(self, client: httpx.AsyncClient, number: int) -> None:
        n = 0
        while not self._stop and time.monotonic() < self.deadline:
            question = self.questions[(number * 13 + n) % len(self.questions)]
            if n % 2:  # half are new to the query cache, so they are embedded for real
                question = f"{question} ({number}.{n})"
            began = time.monotonic()
            error = None
            try:
                if n % 3 == 2:
                    response = await client.get("/api/search", params={"q": question, "k": 5})
                else:
                    response = await client.post("/api/ask", json={"question": question})
                if response.status_code != 200:
                    error = f"{response.status_code} {response.text[:160]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            phase = self.current or self.between
            phase.requests += 1
            if phase is self.current:
                self._latencies.append((time.monotonic() - began) * 1000)
            if error:
                phase.failures += 1
                if len(phase.failure_samples) < 5:
                    phase.failure_samples.append(error)
            n += 1
            if self.think_s:
                await asyncio.sleep(self.think_s)

    async def run(self, plan) -> None:
        """Start the clients, run `plan(self)` (a coroutine function), stop the clients."""
        limits = httpx.Limits(max_connections=self.clients + 4)
        async with httpx.AsyncClient(base_url=self.url, timeout=60, limits=limits) as client:
            tasks = [asyncio.create_task(self._client(client, i)) for i in range(self.clients)]
            try:
                await plan(self)
            finally:
                self._stop = True
                await asyncio.gather(*tasks)
        self.between.requests_per_s = 0.0

    async def phase(self, name: str, seconds: float | None = None, until=None, sample=None) -> Phase:
        """Measure a phase for `seconds`, or until the coroutine function `until()` is true."""
        phase = Phase(name)
        self._latencies = []
        self.current = phase
        began = time.monotonic()
        while time.monotonic() < self.deadline:
            phase.server_rss_mb_peak = max(phase.server_rss_mb_peak, vm_rss_mb(self.pid))
            if sample is not None:
                sample()
            if seconds is not None and time.monotonic() - began >= seconds:
                break
            if until is not None and await until():
                break
            await asyncio.sleep(0.5)
        self.current = None
        phase.seconds = round(time.monotonic() - began, 2)
        phase.requests_per_s = round(phase.requests / max(phase.seconds, 1e-9), 1)
        phase.latency_ms = percentiles(self._latencies)
        phase.server_rss_mb_end = vm_rss_mb(self.pid)
        return phase


def build_store(env: dict[str, str]) -> None:
    """`tagungsbot ingest` of the base corpus, as an operator would run it."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "service.cli", "ingest"], env=env, cwd=REPO, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"building the base store failed:\n{run.stderr[-2000:]}")


async def probe(url: str, docs: list[SyntheticDoc]) -> dict[str, Any]:
    """Ask each probe question once; count answers that hold the document's date."""
    hits = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for doc in docs:
            body = (await client.post("/api/ask", json={"question": doc.question})).json()
            hits += doc.expected in body.get("answer", "")
    return {"probes": len(docs), "answers_with_the_new_date": hits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=300, help="new documents to re-index (default 300)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="pause of each client between requests (default 0: flat out, the server saturated)")
    parser.add_argument("--warmup-s", type=float, default=8.0, help="load before measuring, per server")
    parser.add_argument("--phase-s", type=float, default=20.0, help="seconds of the before / after / fresh phases")
    parser.add_argument("--max-minutes", type=float, default=30.0, help="hard bound on the whole run")
    parser.add_argument("--max-rss-excess", type=float, default=0.10, help="allowed RSS above the fresh server")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.max_minutes * 60
    docs = synthetic_documents(args.docs)
    questions = conference_questions() + [d.question for d in docs]
    work = Path(tempfile.mkdtemp(prefix="tagungsbot-reindex-load-"))
    try:
        return _run(args, docs, questions, work, deadline)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, docs: list[SyntheticDoc], questions: list[str], work: Path, deadline: float) -> int:
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(REPO / "corpus", corpus)
    env = server_env(index, TAGUNGSBOT_CORPUS_DIR=str(corpus), TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY,
                     TAGUNGSBOT_EMBEDDING_WAIT_S="30", TAGUNGSBOT_REQUEST_TIMEOUT_S="60")
    print(f"building the base store in {index} ...", flush=True)
    build_store(env)
    result: dict[str, Any] = {
        "docs": len(docs), "clients": args.clients, "think_ms": args.think_ms, "machine": machine_facts(),
    }
    phases: list[Phase] = []
    job: dict[str, Any] = {}
    child_peak = {"pid": None, "rss_mb": 0.0}

    server = start_server(env, work / "logs")
    pid = server.process.pid
    print(f"server {pid} ready in {server.ready_s:.1f} s; load with {args.clients} clients", flush=True)

    async def reindex_plan(load: Load) -> None:
        phases.append(load.between)
        phases.append(await load.phase("warm-up", seconds=args.warmup_s))
        phases.append(await load.phase("before", seconds=args.phase_s))
        for doc in docs:
            (corpus / doc.name).write_text(doc.text, encoding="utf-8")
        async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=ADMIN) as admin:
            started = await admin.post("/api/admin/reindex")
            if started.status_code != 202:
                raise SystemExit(f"POST /api/admin/reindex answered {started.status_code}: {started.text}")
            print(f"re-index job {started.json()['id']} started", flush=True)

            def sample_child() -> None:
                child = job.get("child_pid")
                if child and Path(f"/proc/{child}").exists():
                    child_peak["pid"] = child
                    child_peak["rss_mb"] = max(child_peak["rss_mb"], vm_rss_mb(child))

            async def job_ended() -> bool:
                job.update((await admin.get("/api/admin/reindex/status")).json())
                return job.get("status") not in {"running", "idle"}

            phases.append(await load.phase("during", until=job_ended, sample=sample_child))
        print(f"job {job.get('status')} after {job.get('seconds')} s", flush=True)
        phases.append(await load.phase("after", seconds=args.phase_s))

    try:
        asyncio.run(Load(server.url, pid, args.clients, questions, deadline, args.think_ms / 1000).run(reindex_plan))
        result["probe_after_reindex"] = asyncio.run(probe(server.url, docs[:: max(1, len(docs) // 10)]))
    finally:
        server.stop()

    fresh_phase: Phase | None = None
    if job.get("status") == "succeeded" and time.monotonic() < deadline:
        fresh = start_server(env, work / "logs")
        print(f"fresh server {fresh.process.pid} over the new store, ready in {fresh.ready_s:.1f} s", flush=True)

        async def fresh_plan(load: Load) -> None:
            nonlocal fresh_phase
            load.between.name = "fresh: between phases"
            phases.append(load.between)
            phases.append(await load.phase("fresh warm-up", seconds=args.warmup_s))
            fresh_phase = await load.phase("fresh server, new store", seconds=args.phase_s)

        try:
            asyncio.run(Load(fresh.url, fresh.process.pid, args.clients, questions, deadline, args.think_ms / 1000).run(fresh_plan))
        finally:
            fresh.stop()
        if fresh_phase is not None:
            phases.append(fresh_phase)

    result["phases"] = [asdict(p) for p in phases]
    result["job"] = {k: job.get(k) for k in ("id", "status", "seconds", "error", "version", "previous_version", "report")}
    result["ingest_child_peak_rss_mb"] = child_peak["rss_mb"]
    by_name = {p.name: p for p in phases}
    failures = sum(p.failures for p in phases)
    result["failed_requests"] = failures
    checks = {"job_succeeded": job.get("status") == "succeeded", "no_failed_requests": failures == 0}
    if "before" in by_name and "during" in by_name:
        before, during = by_name["before"].requests_per_s, by_name["during"].requests_per_s
        result["throughput_change_during_job_pct"] = round(100 * (during - before) / before, 1) if before else None
    if fresh_phase is not None and "after" in by_name:
        reindexed, fresh_rss = by_name["after"].server_rss_mb_end, fresh_phase.server_rss_mb_end
        result["rss_mb_reindexed_server"] = reindexed
        result["rss_mb_fresh_server"] = fresh_rss
        result["rss_excess_over_fresh_pct"] = round(100 * (reindexed - fresh_rss) / fresh_rss, 1)
        checks["rss_within_limit_of_fresh"] = reindexed <= fresh_rss * (1 + args.max_rss_excess)
    else:
        checks["rss_within_limit_of_fresh"] = False
    result["checks"] = checks
    result["load_average_end_1_5_15"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine
    path = write_result("perf_reindex_under_load", result, args.out)
    for p in phases:
        print(f"{p.name:>26}: {p.seconds:6.1f} s  {p.requests:6d} requests  {p.failures} failed  "
              f"{p.requests_per_s:6.1f} req/s  p50 {p.latency_ms.get('p50')} ms  RSS end {p.server_rss_mb_end} MB")
    print(f"ingest child peak RSS {child_peak['rss_mb']} MB; checks {checks}; written {path}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
