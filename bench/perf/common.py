"""Helpers shared by the performance benchmarks: statistics, machine facts, servers, JSON."""

from __future__ import annotations

import functools
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from vectorstore.settings import Settings, child_environment, openblas_core_type

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
WORK = REPO / "bench" / "_work" / "perf"
XQUAD = REPO / "bench" / "data" / "xquad"  # in the repository, with its licence (bench/data/xquad/README.md)
EVENT_QUESTIONS = REPO / "bench" / "data" / "events" / "questions.jsonl"
CONFERENCE_QUESTIONS = REPO / "bench" / "conference_questions.jsonl"
MODEL_VARIABLES = ("TAGUNGSBOT_MODEL_CACHE", "TAGUNGSBOT_EMBEDDING_BACKEND", "TAGUNGSBOT_EMBEDDING_MODEL")
"""The settings a benchmark's child processes take from the shell; every other one is its default."""


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean / max of a list of milliseconds (nearest-rank percentiles)."""
    if not values_ms:
        return {"n": 0}
    ordered = sorted(values_ms)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
        return round(ordered[index], 3)

    return {
        "n": len(ordered), "p50": rank(50), "p95": rank(95), "p99": rank(99),
        "mean": round(statistics.fmean(ordered), 3), "max": round(ordered[-1], 3),
    }


def median_of(runs: Iterable[dict[str, Any]], key: str) -> float | None:
    """Median of `run[key]` over runs that have it (used to merge repeated runs)."""
    values = [float(r[key]) for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def merge_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of every numeric field over repeated runs of one measurement."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {k: median_of(runs, k) for k in keys}


def machine_facts() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the machine was."""
    load = os.getloadavg()
    facts: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "uptime": _run(["uptime"]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "openblas_coretype": openblas_core_type(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }
    try:
        cpu = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
        facts["cpu_model"] = cpu.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    return facts


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def vm_rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def write_result(name: str, payload: dict[str, Any], out_dir: Path = RESULTS) -> Path:
    """Write bench/results/<name>.json (sorted keys, UTF-8) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def conference_questions() -> list[str]:
    return [row["question"] for row in read_jsonl(CONFERENCE_QUESTIONS)]


def event_questions() -> list[str]:
    """The event-report set's questions (asked standalone: latency, not answers)."""
    return [row["question"] for row in read_jsonl(EVENT_QUESTIONS)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(index_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a benchmarked server: offline, quiet, no per-client rate limit.

    All benchmark traffic comes from one address (127.0.0.1), so the per-client rate
    limit (TAGUNGSBOT_RATE_LIMIT_PER_MINUTE) is switched off; everything else is default.
    """
    variables = {
        "TAGUNGSBOT_INDEX_DIR": str(index_dir), "TAGUNGSBOT_PROGRESS": "0", "TAGUNGSBOT_RATE_LIMIT_PER_MINUTE": "0",
        "TAGUNGSBOT_RELOAD_POLL_S": "0",
        "TAGUNGSBOT_DATA_DIR": str(WORK / "data"),  # answer ids' secret and the database: never the checkout's data/
        **extra,
    }
    return child_environment(variables, inherit=MODEL_VARIABLES)


@dataclass
class Server:
    """A `tagungsbot serve` child process on 127.0.0.1."""

    url: str
    process: subprocess.Popen
    ready_s: float
    log_path: Path

    def rss_mb(self) -> float:
        """VmRSS of the server and its worker processes, summed."""
        pids = [self.process.pid, *_children(self.process.pid)]
        return round(sum(vm_rss_mb(p) for p in pids if Path(f"/proc/{p}").exists()), 1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(x) for x in text.split()]
    return kids + [k for kid in kids for k in _children(kid)]


def start_server(env: dict[str, str], log_dir: Path, workers: int = 1, timeout_s: float = 180) -> Server:
    """Start `tagungsbot serve` and wait for /readyz 200; `ready_s` is process start → ready."""
    import httpx

    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}.log"
    cmd = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w", encoding="utf-8") as log:
        began = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() - began < timeout_s:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}; see {log_path}")
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return Server(url, process, time.perf_counter() - began, log_path)
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"server not ready within {timeout_s} s; see {log_path}")


def load_embedder(settings: Settings, backend: str):
    """The configured model with `backend`, loaded once per benchmark process."""
    return _embedder(settings.embedding_model, settings.model_cache_dir, settings.torch_threads, backend)


@functools.lru_cache(maxsize=4)
def _embedder(model: str, cache_dir: Path, threads: int, backend: str):
    from vectorstore.embedding import Embedder

    return Embedder.load(model, cache_dir, threads, backend=backend)


def ensure_conference_index(index_dir: Path | None = None, backend: str | None = None,
                            corpus_dir: Path | None = None) -> Path:
    """Build (once) a store of the conference corpus (or `corpus_dir`) for the benchmarks; return its folder."""
    index_dir = index_dir or WORK / "conference-index"
    variables = {"TAGUNGSBOT_INDEX_DIR": str(index_dir), "TAGUNGSBOT_PROGRESS": "0",
                 "TAGUNGSBOT_CORPUS_DIR": str(corpus_dir or REPO / "corpus")}
    if backend:
        variables["TAGUNGSBOT_EMBEDDING_BACKEND"] = backend
    # The shell's model and cache, but its passages embedded with the default backend unless `backend` is given.
    env = child_environment(variables, inherit=("TAGUNGSBOT_MODEL_CACHE", "TAGUNGSBOT_EMBEDDING_MODEL"))
    subprocess.run([sys.executable, "-m", "service.cli", "ingest"], env=env, cwd=REPO, check=True,
                   capture_output=True, text=True)
    return index_dir
