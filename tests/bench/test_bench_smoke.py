"""Smoke run of the performance benchmarks (bench/perf/) at tiny sizes, so they cannot rot.

The real model, a real store, real servers on 127.0.0.1 and real FAISS indexes; only the
sizes are small. No timing is asserted (the machine is shared): the test checks that every
script runs to the end, writes its JSON with the figures docs/performance.md quotes, and
that the served requests succeeded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, base_env


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_benchmark_runs_at_smoke_size(built_index: Path, tmp_path: Path) -> None:
    env = base_env(built_index)
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "bench.perf.run_all", "--quick", "--index-dir", str(built_index), "--out", str(out)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=290)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    latency = json.loads((out / "perf_latency.json").read_text(encoding="utf-8"))
    http = latency["http"]
    assert http["ask_sequential"]["uncached"]["n"] == 10 and http["ask_sequential"]["errors"] == 0
    assert http["search_sequential"]["errors"] == 0
    assert http["ask_c4_repeated"]["errors"] == 0 and http["ask_c4_repeated"]["requests_per_s"] > 0
    assert latency["in_process"]["ask_uncached"]["p95"] > 0
    assert latency["machine"]["load_average_1_5_15"]

    new = json.loads((out / "perf_ask_new.json").read_text(encoding="utf-8"))["ask_every_question_new"]
    assert new["latency_ms"]["n"] == 10 and new["errors"] == 0 and new["latency_ms"]["p95"] > 0

    cold = json.loads((out / "perf_cold_start.json").read_text(encoding="utf-8"))
    first = cold["backends"]["onnx-int8"]["runs"][0]
    assert first["first_ask_ok"] is True and first["VmRSS_mb"] > 0 and first["ready_s"] > 0

    ingest = json.loads((out / "perf_ingest.json").read_text(encoding="utf-8"))
    assert ingest["median"]["texts_embedded"] > 0 and ingest["median"]["ratio_raw_over_ingest"] > 0

    scale = json.loads((out / "perf_scale.json").read_text(encoding="utf-8"))
    sizes = {row["chunks"]: row for row in scale["sizes"]}
    assert sizes[64]["chosen_index_type"] == "Flat"
    assert sizes[64]["indexes"][0]["settings"][0]["recall_at_10"] == 1.0  # flat search is exact
    big = sizes[51000]
    assert big["chosen_index_type"].startswith("IVF") and big["chosen_search_params"]["nprobe"] >= 8
    assert 0.0 < big["indexes"][0]["settings"][0]["recall_at_10"] <= 1.0

    backends = json.loads((out / "perf_backends.json").read_text(encoding="utf-8"))
    int8 = backends["backends"]["onnx-int8"]
    assert int8["xquad"]["de"]["questions"] == 3 and int8["conference"]["all"]["answer_accuracy"] is not None
