"""Run every performance benchmark in turn and write bench/results/perf_*.json.

    tagungsbot bench                      # everything, final sizes (30–60 minutes on 2 cores);
                                          # latency last, so it runs when the machine has settled
    tagungsbot bench --only latency,cold_start
    tagungsbot bench --quick              # small sizes, one run each: checks that all scripts work

Each benchmark is also a module of its own (`python -m bench.perf.latency --help`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

from bench.perf import backends, cold_start, ingest_throughput, latency, scale
from bench.perf.common import RESULTS

BENCHMARKS: dict[str, tuple[Callable[[list[str]], int], list[str]]] = {
    # name: (main, extra arguments of a --quick run)
    "backends": (backends.main, ["--xquad-limit", "3", "--passages", "4", "--backends", "onnx-int8",
                                 "--reference", "onnx-int8", "--store-backend", "onnx-int8"]),
    "scale": (scale.main, ["--sizes", "64,51000", "--real-limit", "64", "--queries", "20", "--repeats", "1",
                           "--alternatives", "IVF256,SQ8"]),
    "ingest_throughput": (ingest_throughput.main, ["--runs", "1", "--docs", "3"]),
    "cold_start": (cold_start.main, ["--runs", "1", "--backends", "onnx-int8", "--no-imports"]),
    "latency": (latency.main, ["--runs", "1", "--levels", "4", "--seconds", "1", "--max-requests", "40",
                               "--passes", "1", "--questions", "10"]),
    "ask_new": (latency.main_new, ["--runs", "1", "--questions", "10"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke run, not a measurement")
    parser.add_argument("--index-dir", type=Path, help="store for latency, ask_new and cold_start (default: built once)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    for name in names:
        run, quick = BENCHMARKS[name]
        began = time.perf_counter()
        print(f"== {name}", flush=True)
        extra = ["--index-dir", str(args.index_dir)] if args.index_dir and name in {"latency", "cold_start", "ask_new"} else []
        code = run((quick if args.quick else []) + extra + ["--out", str(args.out)])
        print(f"== {name} done in {time.perf_counter() - began:.0f} s", flush=True)
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
