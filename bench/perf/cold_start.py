"""Cold start and memory: process start of `tagungsbot serve` → first /readyz 200, and VmRSS.

Each run starts a fresh server process over the conference store (the model export and
the store exist already: this is a restart, not a first install). Measured for every
backend given, so the torch path can be compared with the ONNX one; also the bare import
time of torch + sentence-transformers, which the ONNX backend avoids at serve time.

    python -m bench.perf.cold_start                          # 5 runs per backend
    python -m bench.perf.cold_start --backends onnx-int8 --runs 1 --out /tmp/x
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.perf.common import (
    RESULTS, WORK, ensure_conference_index, load_embedder, machine_facts, merge_runs, server_env, start_server,
    write_result,
)
from vectorstore.settings import load_settings


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS and its private (RssAnon) and file-backed, shareable (RssFile) parts in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in {"VmRSS", "RssAnon", "RssFile"}:
            out[f"{key}_mb"] = round(int(line.split()[1]) / 1024, 1)
    return out


def import_seconds(statement: str) -> float:
    """Wall time of a fresh interpreter that runs `statement` (imports only)."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
    return round(time.perf_counter() - began, 3)


def one_start(index_dir: Path, backend: str) -> dict[str, Any]:
    import httpx

    server = start_server(server_env(index_dir, TAGUNGSBOT_EMBEDDING_BACKEND=backend), WORK / "logs")
    try:
        row: dict[str, Any] = {"ready_s": round(server.ready_s, 3)}
        row.update(memory_of(server.process.pid))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            began = time.perf_counter()
            ok = client.post("/api/ask", json={"question": "Wann fand die Tagung statt?"}).status_code == 200
            row["first_ask_ms"] = round((time.perf_counter() - began) * 1000, 1)
            row["first_ask_ok"] = ok
        row.update({f"after_ask_{k}": v for k, v in memory_of(server.process.pid).items()})
        return row
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="onnx,onnx-int8,torch", help="comma-separated embedding backends")
    parser.add_argument("--index-dir", type=Path, help="store to serve (default: conference corpus, built once)")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-time figures (quick runs)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for perf_cold_start.json")
    args = parser.parse_args(argv)
    index_dir = args.index_dir or ensure_conference_index()
    backends = [b for b in args.backends.split(",") if b]
    settings = load_settings()
    for backend in backends:  # make sure every ONNX export exists, so runs measure restarts only
        if backend != "torch":
            load_embedder(settings, backend)
    results: dict[str, Any] = {}
    for backend in backends:
        runs = []
        for i in range(args.runs):
            print(f"cold start: {backend} run {i + 1}/{args.runs}", flush=True)
            runs.append(one_start(index_dir, backend))
        results[backend] = {"median": merge_runs(runs), "runs": runs}
    imports = {} if args.no_imports else {
        "python_bare_s": import_seconds("pass"),
        "service_app_s": import_seconds("import service.app"),
        "onnxruntime_tokenizers_s": import_seconds("import onnxruntime, tokenizers"),
        "torch_sentence_transformers_s": import_seconds("import torch, sentence_transformers"),
    }
    payload = {
        "benchmark": "cold_start", "machine": machine_facts(), "runs": args.runs, "backends": results,
        "import_times": imports,
        "note": "ready_s = process start → first /readyz 200 (medians); memory from /proc/<pid>/status after "
                "ready and after one /api/ask; RssFile is file-backed (model/index pages), shareable between workers",
    }
    path = write_result("perf_cold_start", payload, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
