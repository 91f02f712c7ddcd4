"""Feedback when things go wrong (real servers, real SQLite files).

kill -9 during a burst of feedback loses no acknowledged feedback: eight threads send feedback as
fast as the server takes it, the server is killed with SIGKILL in the middle, and a new server on
the same data folder must list every comment that was answered 201. A data folder that cannot be
created leaves the service answering, with feedback refused (503) instead of lost.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import base_env, start_server

ADMIN = {"X-API-Key": "dur-admin-7c2a"}
THREADS = 8


def test_kill_9_during_a_feedback_burst_loses_no_acknowledged_feedback(built_index: Path, tmp_path: Path) -> None:
    env = base_env(
        built_index, TAGUNGSBOT_DATA_DIR=str(tmp_path / "data"), TAGUNGSBOT_ADMIN_KEYS=ADMIN["X-API-Key"],
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="0",
    )
    server = start_server(env, tmp_path)
    try:
        asked = httpx.post(f"{server.url}/api/ask", json={"question": "Wer hielt die Keynote?"}, timeout=30).json()
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def burst(n: int) -> None:
            with httpx.Client(timeout=10) as client:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    comment = f"Burst {n}-{i}, schön"
                    body = {"answer_id": asked["answer_id"], "rating": "down" if i % 2 else "up", "comment": comment,
                            "question": "Wer hielt die Keynote?", "answer": asked["answer"]}
                    try:
                        r = client.post(f"{server.url}/api/feedback", content=json.dumps(body),
                                        headers={"Content-Type": "application/json"})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if r.status_code == 201:
                        with lock:
                            acknowledged.append(comment)

        threads = [threading.Thread(target=burst, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)  # mid-burst: requests are in flight
        server.process.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
    finally:
        server.stop()
    assert len(acknowledged) >= 150, f"only {len(acknowledged)} acknowledged before the kill"

    again = start_server(env, tmp_path)
    try:
        listed = httpx.get(f"{again.url}/api/admin/feedback", params={"limit": 1000}, headers=ADMIN, timeout=30).json()
        stored = [item["comment"] for item in listed["items"]]
        while len(stored) < listed["total"]:
            page = httpx.get(f"{again.url}/api/admin/feedback", params={"limit": 1000, "offset": len(stored)},
                             headers=ADMIN, timeout=30).json()
            stored += [item["comment"] for item in page["items"]]
    finally:
        again.stop()
    missing = set(acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged feedback lost, e.g. {sorted(missing)[:3]}"
    assert len(stored) >= len(acknowledged)  # rows committed just before the kill may not have been answered yet


def test_an_unusable_data_folder_leaves_the_service_answering(built_index: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the data folder cannot be created below a file, even by root")
    env = base_env(
        built_index, TAGUNGSBOT_DATA_DIR=str(blocker / "data"), TAGUNGSBOT_ADMIN_KEYS=ADMIN["X-API-Key"],
        TAGUNGSBOT_RECORD_UNANSWERED="1",
    )
    server = start_server(env, tmp_path)
    try:
        for question in ("Wer hielt die Keynote?", "Was kostet das Parken bei der Tagung 2027?"):
            r = httpx.post(f"{server.url}/api/ask", json={"question": question}, timeout=30)
            assert r.status_code == 200 and len(r.json()["answer_id"]) == 22
        r = httpx.post(f"{server.url}/api/feedback", json={"answer_id": r.json()["answer_id"], "rating": "down"}, timeout=30)
        assert r.status_code == 503 and "not stored" in r.json()["detail"] and "TAGUNGSBOT_DATA_DIR" in r.json()["detail"]
        report = httpx.get(f"{server.url}/api/admin/feedback", headers=ADMIN, timeout=30)
        assert report.status_code == 503 and "TAGUNGSBOT_DATA_DIR" in report.json()["detail"]
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    finally:
        server.stop()
    assert "running without recording feedback and unanswered questions" in server.log()
