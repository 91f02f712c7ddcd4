"""Shared fixtures: a real store built from the real corpus, and a real server.

Everything is real: the bundled embedding model, a FAISS index on disk, uvicorn on
127.0.0.1. The store is built once per test session (about half a minute on 2 cores)
and every test that needs a server gets one started as a separate process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
MODEL_CACHE = Path(os.environ.get("TAGUNGSBOT_MODEL_CACHE", REPO / ".models")).resolve()
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(index_dir: Path, corpus_dir: Path = CORPUS, **extra: str) -> dict[str, str]:
    """Environment for a tagungsbot process: offline, our model cache, the given folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGUNGSBOT_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TAGUNGSBOT_MODEL_CACHE=str(MODEL_CACHE),
        TAGUNGSBOT_CORPUS_DIR=str(corpus_dir),
        TAGUNGSBOT_INDEX_DIR=str(index_dir),
        TAGUNGSBOT_PROGRESS="0",
    )
    env.update(extra)
    if "TAGUNGSBOT_DATA_DIR" not in env:  # feedback database and signing secret: never the repo's data/ folder
        env["TAGUNGSBOT_DATA_DIR"] = tempfile.mkdtemp(prefix="tagungsbot-data-")
    return env


def tagungsbot(*args: str, env: dict[str, str], timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run the installed console script and capture its output."""
    cmd = [sys.executable, "-m", "service.cli", *args]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=check)


@dataclass
class ManagedProcess:
    """A server process started by a fixture, with its log file; `stop` ends it politely."""

    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Server(ManagedProcess):
    url: str = ""


def start_server(env: dict[str, str], log_dir: Path, wait_ready: bool = True, timeout: float = 120) -> Server:
    """Start `tagungsbot serve` on a free port and wait until /readyz (or /healthz) answers 200."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    log_file = open(log_path, "w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
    )
    server = Server(process, log_path, url=f"http://127.0.0.1:{port}")
    probe = "/readyz" if wait_ready else "/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + probe, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server not ready within {timeout} s:\n{server.log()}")


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built once from the real corpus with the real model; treat it as read-only."""
    index_dir = tmp_path_factory.mktemp("index")
    result = tagungsbot("ingest", env=base_env(index_dir))
    assert result.returncode == 0, result.stderr
    return index_dir


@pytest.fixture()
def index_copy(built_index: Path, tmp_path: Path) -> Path:
    """A private copy of the built store that a test may damage or rebuild."""
    target = tmp_path / "index"
    shutil.copytree(built_index, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def server(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server over the built store, shared by the API tests."""
    srv = start_server(base_env(built_index), tmp_path_factory.mktemp("logs"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder (ignored by git) where tests leave screenshots and reports for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- Browser tests (widget, search page): Debian chromium driven by Playwright ----------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Debian chromium for the whole session (Playwright cannot download one here)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Debian chromium is not installed; run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page_factory(browser) -> Iterator:
    """Pages in fresh browser contexts that record their script errors in `page.errors`; the
    page's own CSP applies unless `bypass_csp` (needed to inject axe-core)."""
    contexts = []

    def make(width: int = 1280, height: int = 900, bypass_csp: bool = False, color_scheme: str = "light"):
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=bypass_csp,
                                      color_scheme=color_scheme, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def host_site() -> Iterator:
    """A second origin (another port of 127.0.0.1) serving intranet pages that embed the widget."""
    from tests.service.hostsite import HostSite

    site = HostSite()
    yield site
    site.close()


@pytest.fixture(scope="session")
def widget_server(built_index: Path, host_site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server over the built store that grants CORS to `host_site`'s origin only."""
    env = base_env(built_index, TAGUNGSBOT_CORS_ORIGINS=host_site.origin)
    srv = start_server(env, tmp_path_factory.mktemp("widget-logs"))
    yield srv
    srv.stop()


def run_async(coro):
    """Run a coroutine to completion on a fresh event loop in its own thread.

    The session's Playwright browser keeps an event loop running in the main thread, so a
    plain `asyncio.run` there fails once a browser test has run before.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
