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
    assert "torch==2.13.0" in text and "/whl/cpu" in text
