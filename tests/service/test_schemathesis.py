"""Property-based API fuzzing with schemathesis over the whole OpenAPI schema.

A real server (keys on, an admin key, the real model and store) is fuzzed through its own
/openapi.json on 127.0.0.1: valid and invalid bodies, query strings and headers for every
operation. Every response must be no server error (no 5xx at all: the one documented
503, "busy", cannot happen with this server's settings), carry a documented status code
and content type, and match the response schema; invalid input must be rejected with 4xx.

`positive_data_acceptance` is left out on purpose: a question the schema allows can still
be refused by configuration (413 over TAGUNGSBOT_MAX_QUESTION_CHARS, 422 when empty),
and those answers are documented. Examples per operation are bounded so the run stays
well under a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from tests.conftest import CORPUS, Server, base_env, start_server

FUZZ_KEY = "fuzz-admin-19ad"  # an admin key: valid on tool routes and admin routes
MAX_EXAMPLES = 10
MAX_TIME_S = 30


@pytest.fixture(scope="module")
def fuzz_server(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz")
    index, corpus = root / "index", root / "corpus"
    shutil.copytree(built_index, index, symlinks=True)
    shutil.copytree(CORPUS, corpus)  # the fuzzer may start re-index jobs: give it its own copies
    env = base_env(
        index, corpus, TAGUNGSBOT_API_KEYS="fuzz-tool-key", TAGUNGSBOT_ADMIN_KEYS=FUZZ_KEY,
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="0", TAGUNGSBOT_EMBEDDING_WAIT_S="30",
    )
    server = start_server(env, root)
    yield server
    server.stop()


@pytest.mark.slow
def test_every_operation_conforms_to_its_schema(fuzz_server: Server, artifacts_dir: Path) -> None:
    """`schemathesis run` (its CLI, the documented entry point) against the live server."""
    report_dir = artifacts_dir / "schemathesis"
    shutil.rmtree(report_dir, ignore_errors=True)
    cli = Path(sys.executable).with_name("schemathesis")
    # A request over the body limit (TAGUNGSBOT_MAX_BODY_BYTES, e.g. a long generated history) is
    # rejected with 413 before it is validated; that is a rejection too.
    config = artifacts_dir / "schemathesis.toml"
    config.write_text(
        "[checks.negative_data_rejection]\n"
        "expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            str(cli), "--config-file", str(config), "run", fuzz_server.url + "/openapi.json",
            "--header", f"X-API-Key: {FUZZ_KEY}",
            "--checks", "all", "--exclude-checks", "positive_data_acceptance",
            "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_TIME_S),
            "--seed", "20251008", "--workers", "1", "--request-timeout", "60",
            "--report", "junit", "--report-dir", str(report_dir),
        ],
        capture_output=True, text=True, timeout=MAX_TIME_S + 60, env={**os.environ, "NO_COLOR": "1"},
        cwd=artifacts_dir,  # schemathesis keeps a .schemathesis/ cache in its working folder
    )
    (artifacts_dir / "schemathesis.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    junit = ElementTree.parse(next(report_dir.glob("*.xml"))).getroot()
    suite = junit if junit.tag == "testsuite" else junit.find("testsuite")
    assert suite is not None
    tested = int(suite.get("tests", "0"))
    paths = set(httpx.get(fuzz_server.url + "/openapi.json", timeout=10).json()["paths"])
    assert tested >= len(paths), f"schemathesis tested {tested} operations for {len(paths)} paths"
    assert int(suite.get("failures", "0")) == 0 and int(suite.get("errors", "0")) == 0
    server_errors = [line for line in fuzz_server.log().splitlines() if '"status": 5' in line]
    assert server_errors == [], server_errors[:5]
