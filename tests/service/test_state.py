"""The served store gets the settings the service was started with, not what the environment says."""

from __future__ import annotations

from pathlib import Path

from service.qa import QuestionAnswering
from service.retrieval import FusionWeights
from service.state import ServiceState
from tests.conftest import CORPUS, MODEL_CACHE
from vectorstore.settings import Settings


def test_retrieval_of_the_served_store_uses_the_given_settings(built_index: Path, monkeypatch) -> None:
    """Issue 14: an override of keyword_weight_en=0.9 given to the service came out as 0.5,
    because retrieval read the environment itself."""
    monkeypatch.setenv("TAGUNGSBOT_KEYWORD_WEIGHT_EN", "0.2")  # what the environment says must not count
    monkeypatch.setenv("TAGUNGSBOT_FUSION", "relative")
    settings = Settings(
        corpus_dir=CORPUS, index_dir=built_index, model_cache_dir=MODEL_CACHE, reload_poll_s=0,
        keyword_weight_en=0.9, fusion="rrf", dictionary_path=None,
    )
    state = ServiceState(settings)
    state.start()
    try:
        qa = state.current()
        assert isinstance(qa, QuestionAnswering), qa
        weights = qa.retriever.weights
        assert (weights.keyword_en, weights.method) == (0.9, "rrf")
        assert len(qa.retriever.dictionary) == 0, "TAGUNGSBOT_DICTIONARY=off in the settings: no dictionary"
        assert qa.ask("Who presented the project?", 5).answer.language == "en"
    finally:
        state.stop()


def test_fusion_weights_default_to_the_settings_defaults() -> None:
    assert FusionWeights() == FusionWeights.from_settings(Settings())
