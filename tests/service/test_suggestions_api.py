"""GET /api/suggestions on a real server over the real corpus: questions made from the store."""

from __future__ import annotations

import re

import httpx

from tests.conftest import CORPUS
from tests.service.conftest import TOOL_KEYS
from vectorstore.text.entities import people


def corpus_anchors() -> list[str]:
    """What a suggestion may name: events (front matter), headings (and their part before a colon), people."""
    anchors: list[str] = []
    for path in sorted(CORPUS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        anchors += [m.group(1).strip().strip('"') for m in re.finditer(r"^(?:event|title):\s*(.+)$", text, re.M)]
        for m in re.finditer(r"^#+\s+(.+)$", text, re.M):
            anchors += [m.group(1).strip(), m.group(1).split(":")[0].strip()]
        anchors += [p.name for p in people(text)]
    return [a for a in anchors if len(a) > 3]


def test_suggestions_come_from_the_store(server):
    anchors = corpus_anchors()
    german = httpx.get(f"{server.url}/api/suggestions", params={"lang": "de", "n": 4}, timeout=10)
    assert german.status_code == 200, german.text
    body = german.json()
    assert body["language"] == "de" and len(body["suggestions"]) == 4 == len(set(body["suggestions"]))
    for question in body["suggestions"]:
        assert question.endswith("?") and any(a in question for a in anchors), question
    assert german.headers.get("X-Tagungsbot-Store")
    again = httpx.get(f"{server.url}/api/suggestions", params={"lang": "de", "n": 4}, timeout=10).json()
    assert again == body  # same store, same suggestions
    english = httpx.get(f"{server.url}/api/suggestions", params={"lang": "en", "n": 2}, timeout=10).json()
    assert english["language"] == "en" and len(english["suggestions"]) == 2
    assert all(q.split()[0] in {"What", "Who", "When"} for q in english["suggestions"])


def test_bad_parameters_say_what_is_allowed(server):
    wrong_language = httpx.get(f"{server.url}/api/suggestions", params={"lang": "fr"}, timeout=10)
    assert wrong_language.status_code == 422 and "query.lang" in wrong_language.json()["detail"]
    too_many = httpx.get(f"{server.url}/api/suggestions", params={"n": 0}, timeout=10)
    assert too_many.status_code == 422 and "query.n" in too_many.json()["detail"]


def test_suggestions_need_the_same_access_as_search(guarded_server):
    url = f"{guarded_server.url}/api/suggestions"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": "not-a-key"}, timeout=10).status_code == 403
    allowed = httpx.get(url, headers={"X-API-Key": TOOL_KEYS["other"]}, timeout=10)
    assert allowed.status_code == 200 and len(allowed.json()["suggestions"]) == 4
