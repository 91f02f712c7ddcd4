"""The `tagungsbot` command as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import base_env, tagungsbot


def test_ask_prints_answer_and_numbered_citations(built_index: Path) -> None:
    result = tagungsbot("ask", "Wer hat BAKIRA vorgestellt?", env=base_env(built_index))
    assert result.returncode == 0, result.stderr
    assert "Königstein" in result.stdout
    assert "[1] Rückblick auf die Fachtagung Qualitätsarbeit 2025" in result.stdout


def test_ask_json_is_the_api_shape(built_index: Path) -> None:
    result = tagungsbot("ask", "Who presented BAKIRA?", "--json", env=base_env(built_index))
    body = json.loads(result.stdout)
    assert body["abstained"] is False and "Königstein" in body["answer"]
    assert {"ref", "doc_id", "text", "start", "end", "score"} <= set(body["citations"][0])


def test_search_json_lists_ranked_passages(built_index: Path) -> None:
    result = tagungsbot("search", "Innovationsräume Stuttgart", "-k", "3", "--json", env=base_env(built_index))
    body = json.loads(result.stdout)
    assert len(body["results"]) == 3
    assert "Innovationsräume" in body["results"][0]["text"]


def test_empty_question_exits_1_with_a_hint(built_index: Path) -> None:
    result = tagungsbot("ask", "  ", env=base_env(built_index))
    assert result.returncode == 1
    assert "question is empty" in result.stderr


def test_ask_without_a_store_says_to_run_ingest(tmp_path: Path) -> None:
    result = tagungsbot("ask", "Wer?", env=base_env(tmp_path / "nichts"))
    assert result.returncode == 1
    assert "run `tagungsbot ingest` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, service.cli as c; c.build_parser().format_help(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False"
