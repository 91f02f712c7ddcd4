"""The admin re-index runs the ingest in a child process; one job at a time across workers.

Against real servers over a copy of the built store:

* the ingest runs in its own process, a child of the server, at nice 10; it exits when
  done, and the server's resident memory stays within 10 % of what it was before, while
  two clients ask questions throughout without a single failed request;
* a child killed with SIGKILL gives a failed job that names the signal, the old store
  stays served, and the lock is free again for the next job;
* with two worker processes, concurrent POSTs start exactly one job (the others get 409),
  and every status answer, whichever worker gives it, tells the same job and state.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, Server, base_env, start_server
from vectorstore.layout import current_version

ADMIN_KEY = "child-admin-41d7"
TOOL_KEY = "child-tool-9e20"
ADMIN = {"X-API-Key": ADMIN_KEY}
QUESTIONS = ["Wer hat BAKIRA vorgestellt?", "Wo fand die Fachtagung statt?", "Who presented BAKIRA?"]
MAX_RSS_GROWTH = 0.10

NEW_DOCS = {
    "rundbrief-kanu.md": (
        "# Rundbrief des Kanuvereins\n\nDie Frühjahrsregatta des Kanuvereins Talsperre findet am 3. Mai "
        "auf dem Stausee bei Weilburg statt. Gemeldet haben sich einundvierzig Boote.\n"
    ),
    "rundbrief-chor.md": (
        "# Rundbrief des Chors\n\nDer Kammerchor Hohenlimburg probt ab September donnerstags im Gemeindesaal "
        "an der Lindenstraße. Neue Tenöre sind willkommen.\n"
    ),
    "rundbrief-imker.md": (
        "# Rundbrief der Imker\n\nDer Imkerverein Ostalb schleudert den Sommerhonig am 12. Juli im "
        "Lehrbienenstand am Waldrand. Gläser bringt jedes Mitglied selbst mit.\n"
    ),
}
PROBE = "Wo findet die Frühjahrsregatta des Kanuvereins statt?"


@dataclass
class Served:
    server: Server
    corpus: Path
    index: Path
    baseline: str
    env: dict[str, str]
    root: Path


def status(url: str) -> dict:
    return httpx.get(url + "/api/admin/reindex/status", headers=ADMIN, timeout=10).json()


def wait_until_done(url: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = status(url)
        if job["status"] not in {"running", "idle"}:
            return job
        time.sleep(0.25)
    raise AssertionError(f"re-index did not end within {timeout} s: {status(url)}")


def wait_for_child(url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = status(url)
        if job["status"] != "running" or job.get("child_pid"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"no ingest child reported within {timeout} s: {status(url)}")


def proc_stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid [1], nice [16])."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


@pytest.fixture(scope="module")
def served(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("reindex-child")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = root / "index"
    shutil.copytree(built_index, index, symlinks=True)
    env = base_env(
        index, corpus, TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY, TAGUNGSBOT_API_KEYS=TOOL_KEY,
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="0", TAGUNGSBOT_EMBEDDING_WAIT_S="30",
    )
    server = start_server(env, root)
    try:
        yield Served(server, corpus, index, current_version(index) or "", env, root)
    finally:
        server.stop()


@dataclass
class Clients:
    """A couple of clients asking questions in a loop until stopped; every answer must be 200."""

    url: str
    count: int = 2
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _loop(self, number: int) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": TOOL_KEY}, timeout=60) as client:
            n = 0
            while not self._stop.is_set():
                question = f"{QUESTIONS[(number + n) % len(QUESTIONS)]} ({number}.{n})"
                try:
                    response = client.post("/api/ask", json={"question": question})
                    if response.status_code != 200 or "answer" not in response.json():
                        self.failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.requests += 1
                n += 1

    def __enter__(self) -> "Clients":
        for number in range(self.count):
            thread = threading.Thread(target=self._loop, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def test_killed_ingest_child_fails_the_job_and_the_old_store_serves(served: Served) -> None:
    url = served.server.url
    (served.corpus / "rundbrief-kanu.md").write_text(NEW_DOCS["rundbrief-kanu.md"], encoding="utf-8")
    try:
        started = httpx.post(url + "/api/admin/reindex", headers=ADMIN, timeout=10)
        assert started.status_code == 202, started.text
        job = wait_for_child(url)
        assert job["status"] == "running" and job["child_pid"], job
        os.kill(job["child_pid"], signal.SIGKILL)
        job = wait_until_done(url)
    finally:
        (served.corpus / "rundbrief-kanu.md").unlink()
    assert job["status"] == "failed", job
    assert "killed by SIGKILL" in job["error"] and "still served" in job["error"], job["error"]
    assert job["served_version"] == served.baseline
    ready = httpx.get(url + "/readyz", timeout=10).json()
    assert ready["store_version"] == served.baseline
    assert current_version(served.index) == served.baseline
    # The lock went with the job: the next job starts (and finds the corpus unchanged).
    again = httpx.post(url + "/api/admin/reindex", headers=ADMIN, timeout=10)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == job["id"] + 1
    done = wait_until_done(url)
    assert done["status"] == "succeeded" and done["report"]["up_to_date"] is True, done


def test_reindex_runs_in_a_low_priority_child_under_load_and_server_memory_stays(served: Served) -> None:
    url = served.server.url
    pid = served.server.process.pid
    with Clients(url) as clients:
        time.sleep(4)  # warm-up: the query path's caches fill
        rss_before = rss_mb(pid)
        for name, text in NEW_DOCS.items():
            (served.corpus / name).write_text(text, encoding="utf-8")
        started = httpx.post(url + "/api/admin/reindex", headers=ADMIN, timeout=10)
        assert started.status_code == 202, started.text
        assert started.json()["worker_pid"] == pid
        job = wait_for_child(url)
        child = job["child_pid"]
        assert child and child != pid, job
        assert int(proc_stat(child)[1]) == pid, "the ingest child is not the server's own child"
        niceness = [int(proc_stat(child)[16])]
        deadline = time.monotonic() + 15  # the child lowers its priority first thing after it starts
        while niceness[-1] != 10 and time.monotonic() < deadline and Path(f"/proc/{child}").exists():
            time.sleep(0.05)
            niceness.append(int(proc_stat(child)[16]))
        assert niceness[-1] == 10, f"the ingest child ran at nice {sorted(set(niceness))}, never 10"
        busy = httpx.post(url + "/api/admin/reindex", headers=ADMIN, timeout=10)
        assert busy.status_code == 409 and "still running" in busy.json()["detail"], busy.text
        job = wait_until_done(url)
        time.sleep(4)  # the new store warms up as the first one did
        rss_after = rss_mb(pid)
        answered = clients.requests
    # Issue 15's measure: the re-indexed server against a fresh server over the same new store,
    # under the same load (before → after alone would also count the bigger store).
    fresh = start_server(served.env, served.root)
    try:
        with Clients(fresh.url):
            time.sleep(8)
            rss_fresh = rss_mb(fresh.process.pid)
    finally:
        fresh.stop()
    assert job["status"] == "succeeded", job
    assert job["report"]["documents"] >= len(NEW_DOCS) + 1 and job["report"]["embedded"] > 0, job["report"]
    assert job["version"] != served.baseline and job["served_version"] == job["version"]
    assert not Path(f"/proc/{child}").exists(), "the ingest child did not exit"
    assert clients.failures == [], clients.failures[:5]
    assert answered > 10, "the clients did not get going"
    assert rss_after <= rss_fresh * (1 + MAX_RSS_GROWTH), (
        f"server RSS {rss_before:.0f} MB → {rss_after:.0f} MB after the re-index; a fresh server: {rss_fresh:.0f} MB"
    )
    response = httpx.post(url + "/api/ask", json={"question": PROBE}, headers={"X-API-Key": TOOL_KEY}, timeout=60)
    assert response.headers["x-tagungsbot-store"] == job["version"]
    assert "Weilburg" in response.json()["answer"]


def test_one_reindex_across_two_workers_and_one_status(built_index: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "rundbrief-chor.md").write_text(NEW_DOCS["rundbrief-chor.md"], encoding="utf-8")
    index = tmp_path / "index"
    shutil.copytree(built_index, index, symlinks=True)
    env = base_env(index, corpus, TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY, TAGUNGSBOT_WORKERS="2", TAGUNGSBOT_RELOAD_POLL_S="0.5")
    server = start_server(env, tmp_path)
    try:
        url = server.url

        def post(_: int) -> httpx.Response:
            with httpx.Client(timeout=20) as client:  # a new connection each: any worker may take it
                return client.post(url + "/api/admin/reindex", headers=ADMIN)

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(post, range(6)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [202, 409, 409, 409, 409, 409], [(r.status_code, r.text[:200]) for r in answers]
        job_id = next(r.json()["id"] for r in answers if r.status_code == 202)
        for refused in (r for r in answers if r.status_code == 409):
            assert f"re-index job {job_id} is still running" in refused.json()["detail"], refused.text
        seen: list[tuple[int, str]] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with httpx.Client(timeout=10) as client:
                job = client.get(url + "/api/admin/reindex/status", headers=ADMIN).json()
            seen.append((job["id"], job["status"]))
            if job["status"] != "running" and len(seen) > 1 and seen[-2][1] != "running":
                break
            time.sleep(0.2)
        assert {i for i, _ in seen} == {job_id}, seen
        states = [s for _, s in seen]
        first_end = next(n for n, s in enumerate(states) if s != "running")
        assert states[:first_end] == ["running"] * first_end and set(states[first_end:]) == {"succeeded"}, states
        # Both workers serve the new store (the owner loads it, the other one's watcher does).
        version = job["version"]
        deadline = time.monotonic() + 20
        versions: set[str] = set()
        while time.monotonic() < deadline:
            versions = {httpx.get(url + "/readyz", timeout=10).json()["store_version"] for _ in range(8)}
            if versions == {version}:
                break
            time.sleep(0.5)
        assert versions == {version}
    finally:
        server.stop()


def test_a_priority_outside_0_to_19_stops_the_server_with_the_fix(tmp_path: Path) -> None:
    from tests.conftest import tagungsbot

    env = base_env(tmp_path / "index", TAGUNGSBOT_REINDEX_NICE="-5")  # refused before any store is read
    result = tagungsbot("serve", "--host", "127.0.0.1", "--port", "1", env=env, timeout=60)
    assert result.returncode == 1
    assert "TAGUNGSBOT_REINDEX_NICE=-5 is outside 0-19" in result.stderr, result.stderr
