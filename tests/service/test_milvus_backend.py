"""The API over both backends, and two stateless replicas sharing one Milvus store.

FAISS: the session store and server from tests/conftest.py. Milvus: a `milvus-lite
server` process reached over gRPC, filled from a copy of the real corpus with the real
model, served by two `tagungsbot serve` processes on different ports whose index folder
does not even exist: everything they read comes from Milvus.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from ingest.pipeline import Ingestor
from tests.conftest import CORPUS, MODEL_CACHE, Server, base_env, start_server, tagungsbot
from tests.milvus_lite import MilvusLiteServer, milvus_server  # noqa: F401  (fixture)
from vectorstore.settings import Settings
from vectorstore.store import VectorStore, copy_faiss_store, open_store, open_writer

COLLECTION = "api"
NEW_DOC = "nachtrag-deichblick.md"
NEW_TEXT = """---
title: "Nachtrag: Digitale Sprechstunde Deichblick"
---

# Nachtrag: Digitale Sprechstunde Deichblick

Das Jobcenter Nordfriesland stellte im März 2026 die digitale Sprechstunde Deichblick vor.
Projektleiterin von Deichblick ist Frauke Hansen vom Jobcenter Nordfriesland.
"""
NEW_QUESTION = "Wer leitet das Projekt Deichblick?"


@dataclass
class MilvusDeployment:
    settings: Settings
    env: dict[str, str]
    corpus_dir: Path
    replica_index_dir: Path
    replicas: list[Server]


@dataclass
class Backend:
    name: str
    server: Server
    store: VectorStore


@pytest.fixture(scope="module")
def milvus_deployment(
    milvus_server: MilvusLiteServer, built_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MilvusDeployment]:
    """The session's store copied into Milvus (its real-model vectors), served by two replicas.

    Copying instead of ingesting again saves a model load; the ingest path itself runs in
    the replica test below (`tagungsbot ingest` adds a document incrementally).
    """
    root = tmp_path_factory.mktemp("milvus-deployment")
    corpus_dir = root / "corpus"
    shutil.copytree(CORPUS, corpus_dir)
    settings = Settings(
        corpus_dir=corpus_dir, index_dir=root / "ingest-work", model_cache_dir=MODEL_CACHE, vector_backend="milvus",
        milvus_uri=milvus_server.uri, milvus_collection=COLLECTION, show_progress=False,
    )
    copied = copy_faiss_store(built_index, open_writer(settings))
    assert copied.chunk_count > 0 and copied.backend == "milvus"
    replica_index_dir = root / "replicas-have-no-index"
    env = base_env(
        replica_index_dir, corpus_dir, TAGUNGSBOT_VECTOR_BACKEND="milvus", TAGUNGSBOT_MILVUS_URI=milvus_server.uri,
        TAGUNGSBOT_MILVUS_COLLECTION=COLLECTION, TAGUNGSBOT_RELOAD_POLL_S="0.5",
    )
    logs = root / "logs"
    logs.mkdir()
    with ThreadPoolExecutor(2) as pool:
        replicas = list(pool.map(lambda _: start_server(env, logs), range(2)))
    yield MilvusDeployment(settings, env, corpus_dir, replica_index_dir, replicas)
    for replica in replicas:
        replica.stop()


@pytest.fixture(params=["faiss", "milvus"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """A running server and the store it serves, for each backend."""
    if request.param == "faiss":
        from vectorstore.faiss_store import FaissStore

        return Backend("faiss", request.getfixturevalue("server"), FaissStore.load(request.getfixturevalue("built_index")))
    deployment: MilvusDeployment = request.getfixturevalue("milvus_deployment")
    return Backend("milvus", deployment.replicas[0], open_store(deployment.settings))


def ask(server: Server, question: str) -> dict:
    response = httpx.post(server.url + "/api/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("question", ["Who presented BAKIRA?", "Wer hat BAKIRA vorgestellt?"])
def test_bakira_question_names_koenigstein_with_citation(backend: Backend, question: str) -> None:
    body = ask(backend.server, question)
    assert body["abstained"] is False
    assert "Königstein" in body["answer"] and "Bundesagentur für Arbeit" in body["answer"]
    assert any("BAKIRA" in c["text"] for c in body["citations"])


def test_out_of_corpus_question_abstains(backend: Backend) -> None:
    body = ask(backend.server, "What is the capital of France?")
    assert body["abstained"] is True and body["citations"] == []


def test_citation_text_is_exactly_the_document_slice(backend: Backend) -> None:
    body = ask(backend.server, "Was sind Innovationsräume?")
    assert body["citations"]
    for c in body["citations"]:
        doc = backend.store.documents[c["doc_id"]]
        assert doc.text[c["start"] : c["end"]] == c["text"]
        assert c["start"] <= c["quote_start"] < c["quote_end"] <= c["end"]


def test_search_ranks_the_bakira_passage_first(backend: Backend) -> None:
    body = httpx.get(backend.server.url + "/api/search", params={"q": "BAKIRA", "k": 3}, timeout=30).json()
    assert 1 <= len(body["results"]) <= 3
    assert "BAKIRA" in body["results"][0]["text"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_both_backends_hold_the_same_corpus(server: Server, milvus_deployment: MilvusDeployment) -> None:
    faiss = httpx.get(server.url + "/readyz").json()
    milvus = httpx.get(milvus_deployment.replicas[0].url + "/readyz").json()
    assert (milvus["documents"], milvus["chunks"]) == (faiss["documents"], faiss["chunks"])
    for query in ["Innovationsräume Stuttgart", "Qualitätsarbeit im SGB II"]:
        texts = [
            [r["text"] for r in httpx.get(s.url + "/api/search", params={"q": query, "k": 3}, timeout=30).json()["results"]]
            for s in (server, milvus_deployment.replicas[0])
        ]
        assert texts[0][0] == texts[1][0], query


def wait_for_version(replicas: list[Server], version: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(httpx.get(r.url + "/readyz").json().get("store_version") == version for r in replicas):
            return
        time.sleep(0.2)
    raise AssertionError(f"replicas did not switch to {version} within {timeout} s")


def test_a_document_added_by_ingest_is_answered_by_both_replicas_without_restart(milvus_deployment: MilvusDeployment) -> None:
    replicas = milvus_deployment.replicas
    assert replicas[0].url != replicas[1].url
    before = [httpx.get(r.url + "/readyz").json() for r in replicas]
    assert all(ask(r, NEW_QUESTION)["abstained"] for r in replicas)

    (milvus_deployment.corpus_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    ingest_env = {**milvus_deployment.env, "TAGUNGSBOT_INDEX_DIR": str(milvus_deployment.settings.index_dir)}
    result = tagungsbot("ingest", "--json", env=ingest_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert 0 < report["embedded"] < 10, "ingest should embed only the new document"
    wait_for_version(replicas, report["version"])
    for replica in replicas:
        body = ask(replica, NEW_QUESTION)
        assert body["abstained"] is False and "Hansen" in body["answer"], body
        assert body["citations"][0]["doc_id"] == NEW_DOC

    (milvus_deployment.corpus_dir / NEW_DOC).unlink()
    removed = Ingestor(milvus_deployment.settings).run()
    wait_for_version(replicas, removed.version)
    for replica, old in zip(replicas, before):
        assert ask(replica, NEW_QUESTION)["abstained"] is True
        assert httpx.get(replica.url + "/readyz").json()["chunks"] == old["chunks"]
    assert not milvus_deployment.replica_index_dir.exists(), "a replica wrote local state"
    for replica in replicas:
        assert "Traceback" not in replica.log()


def test_milvus_going_down_mid_service_gives_503_with_the_reason_not_500(built_index: Path, tmp_path: Path) -> None:
    from tests.milvus_lite import start_milvus_lite

    milvus = start_milvus_lite(tmp_path / "milvus-data", tmp_path)
    replica = None
    try:
        settings = Settings(
            corpus_dir=CORPUS, index_dir=tmp_path / "work", model_cache_dir=MODEL_CACHE, vector_backend="milvus",
            milvus_uri=milvus.uri, milvus_collection="down", show_progress=False,
        )
        copy_faiss_store(built_index, open_writer(settings))
        env = base_env(
            tmp_path / "no-index", CORPUS, TAGUNGSBOT_VECTOR_BACKEND="milvus", TAGUNGSBOT_MILVUS_URI=milvus.uri,
            TAGUNGSBOT_MILVUS_COLLECTION="down", TAGUNGSBOT_MILVUS_TIMEOUT_S="3",
        )
        replica = start_server(env, tmp_path)
        ok = httpx.post(replica.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"}, timeout=60)
        assert ok.status_code == 200
        milvus.stop()
        down = httpx.post(replica.url + "/api/ask", json={"question": "Wer hielt die Keynote?"}, timeout=60)
        assert down.status_code == 503, down.text
        assert "milvus" in down.json()["detail"].lower()
        assert down.headers["retry-after"]
    finally:
        if replica is not None:
            replica.stop()
        milvus.stop()
