"""The HTTP API as callers use it: a real server, the real model, the real store."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server


def ask(server: Server, question: str, **extra) -> httpx.Response:
    return httpx.post(server.url + "/api/ask", json={"question": question, **extra}, timeout=60)


@pytest.mark.parametrize("question", ["Who presented BAKIRA?", "Wer hat BAKIRA vorgestellt?"])
def test_bakira_question_names_koenigstein_with_citation(server: Server, question: str) -> None:
    body = ask(server, question).json()
    assert body["abstained"] is False
    assert "Königstein" in body["answer"]
    assert any("BAKIRA" in c["text"] for c in body["citations"])
    assert "Bundesagentur für Arbeit" in body["answer"]


def test_out_of_corpus_question_abstains_politely(server: Server) -> None:
    body = ask(server, "What is the capital of France?").json()
    assert body["abstained"] is True
    assert body["citations"] == []
    assert "could not find" in body["answer"]


def test_german_abstention_message_is_german(server: Server) -> None:
    body = ask(server, "Wie hoch ist der Regelsatz im Bürgergeld 2026?").json()
    assert body["abstained"] is True
    assert "keine Antwort" in body["answer"]


def test_answer_markers_match_citation_refs(server: Server) -> None:
    body = ask(server, "Wann fand die Fachtagung statt?").json()
    assert body["abstained"] is False
    refs = {c["ref"] for c in body["citations"]}
    assert refs and all(f"[{ref}]" in body["answer"] for ref in refs)
    assert "Oktober 2025" in body["answer"]


def test_citation_text_is_exactly_the_document_slice(server: Server, built_index) -> None:
    from vectorstore.faiss_store import FaissStore

    store = FaissStore.load(built_index)
    body = ask(server, "Was sind Innovationsräume?").json()
    assert body["citations"]
    for c in body["citations"]:
        doc = store.documents[c["doc_id"]]
        assert doc.text[c["start"] : c["end"]] == c["text"]
        assert c["start"] <= c["quote_start"] < c["quote_end"] <= c["end"]


def test_response_has_the_documented_fields(server: Server) -> None:
    """Every field of the published AskResponse and CitationOut, with its type, on an answer
    that cites (so the citation checks cannot pass vacuously)."""
    from service.schemas import AskResponse, CitationOut, PartOut

    body = ask(server, "Wer hielt die Keynote?", top_k=3).json()
    assert set(body) == set(AskResponse.model_fields)
    assert body["abstained"] is False and body["citations"], body["answer"]
    assert isinstance(body["took_ms"], float) and body["language"] == "de" and body["kind"] == "fact"
    assert isinstance(body["answer_id"], str) and body["answer_id"]
    for c in body["citations"]:
        assert set(c) == set(CitationOut.model_fields)
        assert c["start"] <= c["quote_start"] < c["quote_end"] <= c["end"]
        assert isinstance(c["score"], float) and isinstance(c["ref"], int)
    for part in body["parts"]:
        assert set(part) == set(PartOut.model_fields)


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_422_with_a_message(server: Server, question: str) -> None:
    response = ask(server, question)
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]


def test_overlong_question_is_413_and_names_the_limit(server: Server) -> None:
    response = ask(server, "Wer " * 600)
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]


def test_malformed_body_is_422_in_words(server: Server) -> None:
    response = httpx.post(server.url + "/api/ask", json={"frage": "x"}, timeout=10)
    assert response.status_code == 422
    assert "question" in response.json()["detail"]


def test_search_ranks_the_bakira_passage_first(server: Server) -> None:
    body = httpx.get(server.url + "/api/search", params={"q": "BAKIRA", "k": 3}, timeout=30).json()
    assert 1 <= len(body["results"]) <= 3
    assert "BAKIRA" in body["results"][0]["text"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] > 0


def test_openapi_docs_are_served(server: Server) -> None:
    assert httpx.get(server.url + "/docs").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/search", "/healthz", "/readyz"} <= set(paths)
