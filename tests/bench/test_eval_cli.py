"""`tagungsbot eval` end to end against a real server: the CLI runs bench.evaluate without sys.path edits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO, base_env, start_server, tagungsbot


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_eval_judges_the_event_set_over_http(built_index: Path, tmp_path: Path) -> None:
    # A server of its own without the per-client rate limit: 77 questions from one address
    # would otherwise use up the budget of the shared test server.
    server = start_server(base_env(built_index, TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="0"), tmp_path)
    try:
        results = REPO / "bench" / "results"
        before = {p.name: p.stat().st_mtime_ns for p in results.glob("*")}
        done = tagungsbot("eval", "--only", "events", "--url", server.url, "--no-write", env=base_env(built_index),
                          timeout=200)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    row = re.search(r"^\| all \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", done.stdout, re.M)
    assert row, done.stdout[-2000:]
    questions, right, wrong, abstained = map(int, row.groups())
    assert questions == 77 and right + wrong + abstained == 77
    kinds = set(re.findall(r"^\| (\w+) \| \d+ \|", done.stdout, re.M))
    assert {"factoid", "list", "followup", "smalltalk", "ooc", "cross_event"} <= kinds
    assert "Follow-up questions asked" in done.stdout
    assert {p.name: p.stat().st_mtime_ns for p in results.glob("*")} == before  # --no-write wrote nothing


def test_eval_refuses_xquad_over_http_with_the_reason(built_index: Path) -> None:
    done = tagungsbot("eval", "--only", "xquad", "--url", "http://127.0.0.1:9", env=base_env(built_index), timeout=60)
    assert done.returncode != 0
    assert "XQuAD needs its own store" in done.stderr
