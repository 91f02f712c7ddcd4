"""The Dockerfile cannot be built here (no Docker engine), so it is linted and checked."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_non_root_ingests_at_build_and_has_a_healthcheck() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "USER 10001" in text
    assert "tagungsbot ingest" in text
    assert "HEALTHCHECK" in text and "/readyz" in text
    assert "/whl/cpu" in text  # torch's CPU build; the version and hash come from the lock


def test_image_installs_only_hashed_locked_dependencies() -> None:
    """Every RUN that installs with pip takes its dependencies from requirements.lock with
    --require-hashes, or installs the project alone (--no-deps, locked setuptools)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    installs = [line for line in text.splitlines() if line.startswith("RUN") and "pip install" in line]
    assert installs, "the Dockerfile installs nothing with pip"
    for line in installs:
        locked = "--require-hashes" in line and "-r requirements.lock" in line
        project_only = "--no-deps" in line and "--no-build-isolation" in line
        assert locked or project_only, f"unlocked pip install in the Dockerfile: {line}"
    assert any("--require-hashes" in line for line in installs)
    assert "COPY requirements.lock" in text
