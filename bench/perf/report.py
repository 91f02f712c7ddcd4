"""Render bench/results/perf_*.json as the Markdown tables of docs/performance.md.

    python -m bench.perf.report            # rewrites the part of docs/performance.md between the markers

Only the block between `<!-- perf-results:begin -->` and `<!-- perf-results:end -->` is
generated; the prose around it is written by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.perf.common import REPO, RESULTS

BEGIN = "<!-- perf-results:begin -->"
END = "<!-- perf-results:end -->"
DOC = REPO / "docs" / "performance.md"


def _load(name: str, folder: Path) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _best_1m(scale: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """The 1M row, the chosen index and its setting with the recorded default parameters."""
    big = [s for s in scale["sizes"] if s["chunks"] >= 1_000_000]
    if not big:
        return None
    row = big[0]
    chosen = next(i for i in row["indexes"] if i["index_type"] == row["chosen_index_type"])
    setting = next((s for s in chosen["settings"] if s["params"] == row["chosen_search_params"]), chosen["settings"][0])
    return row, chosen, setting


def targets(folder: Path) -> str:
    lat, cold, ing, scale = (_load(n, folder) for n in ("perf_latency", "perf_cold_start", "perf_ingest", "perf_scale"))
    rows: list[list[Any]] = []

    def verdict(ok: bool | None) -> str:
        return "–" if ok is None else ("met" if ok else "**not met**")

    if lat:
        seq = lat["http"]["ask_sequential"]
        un, ca = seq["uncached"], seq["cached"]
        rows.append(["/api/ask sequential over HTTP, p50 ≤ 15 ms",
                     f"{_fmt(un['p50'])} ms uncached · {_fmt(ca['p50'])} ms cached", verdict(un["p50"] <= 15)])
        rows.append(["/api/ask sequential over HTTP, p95 ≤ 40 ms",
                     f"{_fmt(un['p95'])} ms uncached · {_fmt(ca['p95'])} ms cached", verdict(un["p95"] <= 40)])
        rep = lat["http"].get("ask_c16_repeated")
        dis = lat["http"].get("ask_c16_distinct")
        if rep:
            ok = rep["requests_per_s"] >= 150 and rep["errors"] == 0
            text = f"{_fmt(rep['requests_per_s'])} req/s, {rep['errors']} errors (repeated questions)"
            if dis:
                text += f" · {_fmt(dis['requests_per_s'])} req/s, {dis['errors']} errors (distinct)"
            rows.append(["≥ 150 req/s at 16 concurrent clients, 0 errors", text, verdict(ok)])
    if cold:
        backend = next(iter(cold["backends"]))
        med = cold["backends"][backend]["median"]
        rows.append([f"cold start ≤ 3 s ({backend})", f"{_fmt(med['ready_s'], 2)} s, VmRSS {_fmt(med['VmRSS_mb'], 0)} MB",
                     verdict(med["ready_s"] <= 3)])
    if ing:
        med = ing["median"]
        rows.append(["ingest within 1.3× of raw encode", f"{_fmt(med['ratio_raw_over_ingest'], 2)}× "
                     f"({_fmt(med['ingest_texts_per_s'])} vs {_fmt(med['raw_texts_per_s'])} texts/s)",
                     verdict(med["ratio_raw_over_ingest"] <= 1.3)])
    if scale and _best_1m(scale):
        row, chosen, setting = _best_1m(scale)
        p95, recall, mem = setting["search_ms"]["p95"], setting["recall_at_10"], chosen["index_file_mb"]
        rows.append([f"1M chunks: p95 ≤ 5 ms at recall@10 ≥ 0.95, index ≤ 1 GB ({chosen['index_type']}, "
                     f"{json.dumps(setting['params'])})", f"p95 {_fmt(p95, 2)} ms, recall@10 {_fmt(recall, 3)}, "
                     f"{_fmt(mem, 0)} MB", verdict(p95 <= 5 and recall >= 0.95 and mem <= 1024)])
    return _table(["target", "measured (median of runs)", ""], rows)


def latency_tables(lat: dict[str, Any]) -> str:
    http, inproc = lat["http"], lat.get("in_process") or {}
    rows = []
    for endpoint in ("ask", "search"):
        for label in ("uncached", "cached"):
            h = http[f"{endpoint}_sequential"][label]
            i = inproc.get(f"{endpoint}_{label}", {})
            rows.append([f"/api/{endpoint} {label}", i.get("p50"), i.get("p95"), i.get("p99"), h["p50"], h["p95"], h["p99"]])
    seq = _table(["sequential", "in-process p50", "p95", "p99", "HTTP p50", "HTTP p95", "HTTP p99"], rows)
    conc = []
    for key, value in http.items():
        if isinstance(value, dict) and "requests_per_s" in value:
            endpoint, clients, load = key.split("_")
            conc.append([f"/api/{endpoint}", clients[1:], load, value["requests_per_s"], value["errors"],
                         value["latency_ms"]["p50"], value["latency_ms"]["p95"], value["latency_ms"]["p99"]])
    conc_table = _table(["endpoint", "clients", "questions", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms"], conc)
    parts = [seq, "", conc_table]
    if inproc.get("encode_query_uncached"):
        e, r, a = (inproc.get(k, {}) for k in ("encode_query_uncached", "ask_cached_retrieval_part", "ask_cached_answer_part"))
        parts += ["", f"In-process parts (p50 / p95 ms): question embedding {_fmt(e.get('p50'), 2)} / {_fmt(e.get('p95'), 2)}, "
                  f"retrieval with a cached vector {_fmt(r.get('p50'), 2)} / {_fmt(r.get('p95'), 2)}, "
                  f"answer building {_fmt(a.get('p50'), 2)} / {_fmt(a.get('p95'), 2)}."]
    return "\n".join(parts)


def backend_table(data: dict[str, Any]) -> str:
    rows = []
    for name, r in data["backends"].items():
        cos = next((v for k, v in r.items() if k.startswith("cosine_to_")), {})
        conf = r["conference"]["all"]
        rows.append([name, r["query_ms"]["p50"], r["query_ms"]["p95"], r["passages_per_s"],
                     _fmt(cos.get("queries_mean"), 4), _fmt(conf["answer_accuracy"], 3),
                     _fmt(r["xquad"]["de"]["hit@1"], 3), _fmt(r["xquad"]["en"]["hit@1"], 3)])
    return _table(["backend", "query p50 ms", "query p95 ms", "passages/s", "cosine to torch",
                   "conference answers", "XQuAD de hit@1", "XQuAD en hit@1"], rows)


def cold_table(data: dict[str, Any]) -> str:
    rows = [[b, v["median"]["ready_s"], v["median"]["VmRSS_mb"], v["median"]["RssAnon_mb"], v["median"]["RssFile_mb"],
             v["median"]["first_ask_ms"]] for b, v in data["backends"].items()]
    table = _table(["backend", "start → /readyz s", "VmRSS MB", "private MB", "file-backed MB", "first ask ms"], rows)
    imports = data.get("import_times") or {}
    if imports:
        table += "\n\nImport times of a fresh interpreter (s): " + ", ".join(f"{k.removesuffix('_s')} {v}" for k, v in imports.items())
    return table


def ingest_table(data: dict[str, Any]) -> str:
    m = data["median"]
    return _table(["corpus", "texts embedded", "ingest texts/s", "raw encode texts/s", "raw / ingest", "ingest s"],
                  [[f"{int(m['documents'])} documents, {int(m['chunks'])} chunks", int(m["texts_embedded"]),
                    m["ingest_texts_per_s"], m["raw_texts_per_s"], m["ratio_raw_over_ingest"], m["ingest_s"]]])


def scale_table(data: dict[str, Any]) -> str:
    rows = []
    for size in data["sizes"]:
        for index in size["indexes"]:
            for setting in index["settings"]:
                chosen = index["index_type"] == size["chosen_index_type"] and setting["params"] == size["chosen_search_params"]
                rows.append([f"{size['chunks']:,}", size["data"].split(" (")[0], index["index_type"] + (" ✔" if chosen else ""),
                             json.dumps(setting["params"]) if setting["params"] else "–", index["build_s"],
                             index["index_file_mb"], f"{setting['recall_at_10']:.3f}",
                             f"{setting['search_ms']['p50']:.2f}", f"{setting['search_ms']['p95']:.2f}"])
    return _table(["chunks", "data", "index (✔ = chosen)", "search params", "build s", "index MB", "recall@10",
                   "p50 ms", "p95 ms"], rows)


def render(folder: Path) -> str:
    parts = ["### Targets", "", targets(folder)]
    sections = [("perf_latency", "### Query latency and throughput (conference corpus)", latency_tables),
                ("perf_backends", "### Embedding backends: speed and quality", backend_table),
                ("perf_cold_start", "### Cold start and memory", cold_table),
                ("perf_ingest", "### Ingest throughput", ingest_table),
                ("perf_scale", "### Scale: FAISS index per size", scale_table)]
    for name, title, fn in sections:
        data = _load(name, folder)
        if data:
            m = data["machine"]
            parts += ["", title, "", fn(data), "",
                      f"<sub>{name}.json · {m['time_utc']} · load average {m['load_average_1_5_15']} · "
                      f"{m.get('cpus')} CPUs · commit {m.get('git_commit')}</sub>"]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{args.doc} lacks the markers {BEGIN} / {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    args.doc.write_text(f"{head}{BEGIN}\n{render(args.results)}{END}{tail}", encoding="utf-8")
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
