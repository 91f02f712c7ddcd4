"""Fixtures for the reliability and security tests: one real server with keys and limits.

`guarded_server` is shared by test_security, test_limits and test_metrics so the model
is loaded once for all three. Each test uses its own API key, so the per-key rate limit
(burst 5, refill 1/s) of one test does not leak into another.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Server, base_env, start_server

ALLOWED_ORIGIN = "http://intranet.example"
ADMIN_KEY = "admin-7f3c9a"
TOOL_KEYS = {
    "security": "sec-2b8e41",
    "limits": "lim-9d0a77",
    "other": "oth-51c2e0",
    "metrics": "met-c4a913",
    "flood": "fld-0e6b52",
    "surrogate": "sur-3a91d7",  # test_hardening_http
    "schema": "sch-6f20b8",  # test_hardening_http
}
OVERLOAD_KEYS = [f"load-{i:02d}" for i in range(16)]
RATE_PER_MINUTE = 60
RATE_BURST = 5
MAX_BODY_BYTES = 2048


@dataclass
class Guarded:
    server: Server
    index_dir: Path
    log_dir: Path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def guarded_server(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    """A real server with API keys, an admin key, a widget origin, tight limits and question logging."""
    root = tmp_path_factory.mktemp("guarded")
    index_dir = root / "index"
    shutil.copytree(built_index, index_dir, symlinks=True)
    question_logs = root / "question-logs"
    env = base_env(
        index_dir,
        TAGUNGSBOT_API_KEYS=",".join([*TOOL_KEYS.values(), *OVERLOAD_KEYS]),
        TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY,
        TAGUNGSBOT_CORS_ORIGINS=ALLOWED_ORIGIN,
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE=str(RATE_PER_MINUTE),
        TAGUNGSBOT_RATE_LIMIT_BURST=str(RATE_BURST),
        TAGUNGSBOT_MAX_CONCURRENT_EMBEDDINGS="1",
        TAGUNGSBOT_EMBEDDING_WAIT_S="0",  # no waiting for the one slot: a burst must be shed, however fast the model
        TAGUNGSBOT_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
        TAGUNGSBOT_LOG_QUESTIONS="1",
        TAGUNGSBOT_LOG_DIR=str(question_logs),
        TAGUNGSBOT_LOG_RETENTION_DAYS="7",
    )
    server = start_server(env, root)
    yield Guarded(server, index_dir, question_logs)
    server.stop()
