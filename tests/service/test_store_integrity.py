"""Damaged store versions against a real server: refused, counted, reported without server
paths, and the next good version is served (issue 15, rows 6 and 9).

Each damaged version is published the way ingest publishes one (a version folder, then
CURRENT replaced). "Resealed" damage also rewrites the manifest's checksums, as a buggy
ingest would: then the shape and range checks must catch it instead of the checksums.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, Server, base_env, start_server
from vectorstore.layout import CURRENT_FILE, VERSIONS_DIR, current_version
from vectorstore.manifest import folder_checksums

ADMIN_KEY = "integrity-admin-41c7"
TOOL_KEY = "integrity-tool-9a02"


@dataclass
class Served:
    server: Server
    index: Path
    baseline: str

    def get(self, path: str, key: str = TOOL_KEY) -> httpx.Response:
        return httpx.get(self.server.url + path, headers={"X-API-Key": key}, timeout=30)


def env_for(index: Path, **extra: str) -> dict[str, str]:
    return base_env(index, TAGUNGSBOT_API_KEYS=TOOL_KEY, TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY, TAGUNGSBOT_RELOAD_POLL_S="0.3", **extra)


def publish(index: Path, source: str, damage: Callable[[Path], None] | None = None, reseal: bool = False) -> str:
    """Copy version `source` under a new, later name, damage it, and point CURRENT at it."""
    name = f"29990101T{uuid.uuid4().int % 10**12:012d}Z-{uuid.uuid4().hex[:6]}"
    target = index / VERSIONS_DIR / name
    shutil.copytree(index / VERSIONS_DIR / source, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = name  # the manifest is not covered by the checksums
    if damage is not None:
        damage(target)
    if reseal:
        manifest["checksums"] = folder_checksums(target)
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pointer = index / f"{CURRENT_FILE}.{uuid.uuid4().hex}.tmp"
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, index / CURRENT_FILE)
    return name


def sentences_out_of_range(version_dir: Path) -> None:
    sentences = np.load(version_dir / "sentences.npy")
    sentences[-5:, 0] = 10**6  # rows of chunks that do not exist
    np.save(version_dir / "sentences.npy", sentences)


def document_text_not_a_string(version_dir: Path) -> None:
    """Valid JSON of the wrong shape: none of the store's own errors describes it."""
    lines = (version_dir / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] = 12345
    lines[0] = json.dumps(first)
    (version_dir / "documents.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def random_index_bytes(version_dir: Path) -> None:
    path = version_dir / "index.faiss"
    path.write_bytes(os.urandom(path.stat().st_size))


def zeroed_vectors(version_dir: Path) -> None:
    vectors = np.load(version_dir / "vectors.npy")
    np.save(version_dir / "vectors.npy", np.zeros_like(vectors))


def scrape(served: Served) -> dict[tuple[str, tuple], float]:
    samples = {}
    for family in text_string_to_metric_families(served.get("/metrics").text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def failed_reloads(served: Served) -> float:
    return scrape(served).get(("tagungsbot_store_reloads_total", (("result", "failed"),)), 0.0)


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def assert_no_server_paths(text: str, *paths: Path) -> None:
    for path in paths:
        assert str(path) not in text and os.path.realpath(path) not in text, text
    assert "/tmp/" not in text and "/work/" not in text and "/root/" not in text, text


@pytest.fixture(scope="module")
def served(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("integrity")
    index = root / "index"
    shutil.copytree(built_index, index, symlinks=True)
    server = start_server(env_for(index), root)
    yield Served(server, index, current_version(index) or "")
    server.stop()


@pytest.mark.parametrize(
    ("damage", "reseal", "named"),
    [
        (sentences_out_of_range, True, "sentences.npy row"),
        (document_text_not_a_string, True, "TypeError"),
        (random_index_bytes, False, "store file index.faiss"),
        (zeroed_vectors, True, "vectors.npy row 0 has norm 0"),
    ],
    ids=["sentence-rows-out-of-range", "unexpected-exception", "random-index-bytes", "zeroed-vectors"],
)
def test_a_damaged_version_is_refused_counted_reported_and_the_next_good_one_is_served(
    served: Served, damage, reseal: bool, named: str
) -> None:
    failed_before = failed_reloads(served)
    bad = publish(served.index, served.baseline, damage, reseal)
    wait_for(lambda: bad in (served.get("/api/admin/stats", ADMIN_KEY).json()["last_reload_error"] or ""))
    stats = served.get("/api/admin/stats", ADMIN_KEY).json()
    assert named in stats["last_reload_error"] and "re-run `tagungsbot ingest`" in stats["last_reload_error"]
    assert stats["store"]["version"] == served.baseline
    # /readyz: still ready on the old version, says which version was refused and why, no paths.
    ready = served.get("/readyz")
    assert ready.status_code == 200 and ready.json()["store_version"] == served.baseline
    assert bad in ready.json()["detail"] and named in ready.json()["detail"]
    assert_no_server_paths(ready.json()["detail"], served.index)
    samples = scrape(served)
    assert samples[("tagungsbot_store_reloads_total", (("result", "failed"),))] == failed_before + 1
    assert samples[("tagungsbot_store_reload_failing", ())] == 1
    assert bad in served.server.log()
    if reseal is False or "row" in named:  # the store's own errors name the folder: in the log only
        assert str(served.index) in served.server.log()

    good = publish(served.index, served.baseline)  # the next ingest's version, intact
    wait_for(lambda: served.get("/readyz").json().get("store_version") == good)
    assert served.get("/readyz").json()["detail"] is None
    assert scrape(served)[("tagungsbot_store_reload_failing", ())] == 0
    answer = httpx.post(served.server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"},
                        headers={"X-API-Key": TOOL_KEY}, timeout=60)
    assert answer.status_code == 200 and answer.headers["x-tagungsbot-store"] == good
    assert "Königstein" in answer.json()["answer"]
    served.baseline = good  # the next case starts from here; the old folders are left in place


def test_a_damaged_store_at_start_is_a_503_with_the_reason_until_a_good_version_appears(
    built_index: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(built_index, index, symlinks=True)
    baseline = current_version(index) or ""
    bad = publish(index, baseline, sentences_out_of_range, reseal=True)
    server = start_server(env_for(index), tmp_path, wait_ready=False)
    try:
        wait_for(lambda: httpx.get(server.url + "/readyz", timeout=10).status_code == 503
                 and "starting" not in httpx.get(server.url + "/readyz", timeout=10).json()["detail"], timeout=120)
        ready = httpx.get(server.url + "/readyz", timeout=10).json()
        assert ready["status"] == "not ready" and "sentences.npy row" in ready["detail"]
        assert "re-run `tagungsbot ingest`" in ready["detail"]
        assert_no_server_paths(ready["detail"], index)
        ask = httpx.post(server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"},
                         headers={"X-API-Key": TOOL_KEY}, timeout=30)
        assert ask.status_code == 503 and "sentences.npy row" in ask.json()["detail"]
        assert_no_server_paths(ask.json()["detail"], index)
        assert server.process.poll() is None  # running, not exited
        stats = httpx.get(server.url + "/api/admin/stats", headers={"X-API-Key": ADMIN_KEY}, timeout=10).json()
        assert stats["reloads_failed"] == 1 and bad in stats["last_reload_error"]
        assert str(index) in server.log()

        good = publish(index, baseline)
        wait_for(lambda: httpx.get(server.url + "/readyz", timeout=10).json().get("store_version") == good)
        ask = httpx.post(server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"},
                         headers={"X-API-Key": TOOL_KEY}, timeout=60)
        assert ask.status_code == 200 and "Königstein" in ask.json()["answer"]
    finally:
        server.stop()


def test_no_store_yet_is_explained_without_the_server_path(tmp_path: Path) -> None:
    index = tmp_path / "noch-leer"
    server = start_server(env_for(index), tmp_path, wait_ready=False)
    try:
        wait_for(lambda: "starting" not in httpx.get(server.url + "/readyz", timeout=10).json()["detail"], timeout=120)
        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        detail = ready.json()["detail"]
        assert "no vector store at <index folder>" in detail and "run `tagungsbot ingest` first" in detail
        assert_no_server_paths(detail, index)
        ask = httpx.get(server.url + "/api/search", params={"q": "BAKIRA"}, headers={"X-API-Key": TOOL_KEY}, timeout=30)
        assert ask.status_code == 503 and "run `tagungsbot ingest` first" in ask.json()["detail"]
        assert_no_server_paths(ask.json()["detail"], index)
        assert str(index.resolve()) in server.log()  # the operator finds the path in the log
    finally:
        server.stop()


@pytest.fixture()
def read_only_cache() -> Iterator[Path]:
    """An empty, read-only folder (a read-only tmpfs: root ignores file modes)."""
    folder = Path(tempfile.mkdtemp(prefix="tagungsbot-ro-cache-"))
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)], capture_output=True
    ).returncode == 0
    if not mounted:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip("needs root and `mount` for a read-only folder (root ignores chmod)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_read_only_model_cache_is_one_line_with_the_fix(built_index: Path, read_only_cache: Path, tmp_path: Path) -> None:
    env = {**env_for(built_index), "TAGUNGSBOT_MODEL_CACHE": str(read_only_cache)}
    result = subprocess.run([sys.executable, "-m", "service.cli", "search", "BAKIRA"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"the model cache {read_only_cache} cannot be written (Read-only file system)" in lines[0]
    assert "TAGUNGSBOT_MODEL_CACHE" in lines[0]
    server = start_server(env, tmp_path, wait_ready=False)
    try:
        wait_for(lambda: "starting" not in httpx.get(server.url + "/readyz", timeout=10).json()["detail"], timeout=120)
        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and "<model cache> cannot be written" in ready.json()["detail"]
        assert_no_server_paths(ready.json()["detail"], read_only_cache)
        assert server.process.poll() is None and "Traceback" not in server.log()
    finally:
        server.stop()


def test_the_watcher_survives_an_unreadable_pointer_counts_it_once_and_recovers(served: Served) -> None:
    """CURRENT replaced by a folder: every poll fails; the watcher counts it once, reports it,
    keeps serving, and loads the version CURRENT names once it is a file again."""
    failed_before = failed_reloads(served)
    (served.index / CURRENT_FILE).unlink()
    (served.index / CURRENT_FILE).mkdir()
    try:
        wait_for(lambda: "looking for a new store version failed" in (served.get("/readyz").json()["detail"] or ""))
        time.sleep(1.5)  # several more polls fail the same way
        ready = served.get("/readyz").json()
        assert ready["status"] == "ready" and ready["store_version"] == served.baseline
        assert_no_server_paths(ready["detail"], served.index)
        assert failed_reloads(served) == failed_before + 1
        assert scrape(served)[("tagungsbot_store_reload_failing", ())] == 1
    finally:
        (served.index / CURRENT_FILE).rmdir()
    good = publish(served.index, served.baseline)
    wait_for(lambda: served.get("/readyz").json().get("store_version") == good)
    assert served.get("/readyz").json()["detail"] is None
    assert scrape(served)[("tagungsbot_store_reload_failing", ())] == 0
    served.baseline = good


def test_public_text_keeps_the_problem_and_drops_server_paths(tmp_path: Path) -> None:
    from service.state import PublicText

    index = tmp_path / "index"
    public = PublicText({"index folder": index, "model cache": tmp_path / "cache"})
    text = public.run(
        f"store file index.faiss in {index}/versions/v1 is damaged; model at {tmp_path}/cache/x failed; "
        f"see /etc/tagungsbot/env and GET /api/admin/stats; 1/2 done"
    )
    assert text == (
        "store file index.faiss in <index folder>/versions/v1 is damaged; model at <model cache>/x failed; "
        "see <server path> and GET /api/admin/stats; 1/2 done"
    )
