"""A real Milvus Lite gRPC server in its own process, for the Milvus backend tests.

`milvus-lite server` speaks the same gRPC protocol as a Milvus cluster, so the code
under test reaches it through `MilvusClient(uri="http://127.0.0.1:PORT")` exactly as it
would reach a cluster. Import the `milvus_server` fixture into a test module to use it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, ManagedProcess, free_port


@dataclass
class MilvusLiteServer(ManagedProcess):
    uri: str = ""


def start_milvus_lite(data_dir: Path, log_dir: Path, timeout: float = 60, port: int | None = None) -> MilvusLiteServer:
    """Start `milvus-lite server` on 127.0.0.1 (a free port unless given); return once it accepts clients."""
    port = port or free_port()
    log_path = log_dir / f"milvus-lite-{port}-{time.monotonic_ns()}.log"
    log_file = open(log_path, "w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
    )
    server = MilvusLiteServer(process, log_path, uri=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with {process.returncode}:\n{server.log()}")
        if "listening" in server.log():
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"milvus-lite server not listening within {timeout} s:\n{server.log()}")


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusLiteServer]:
    """One Milvus Lite server per test module, stopped at its end."""
    root = tmp_path_factory.mktemp("milvus")
    server = start_milvus_lite(root / "data", root)
    yield server
    server.stop()
