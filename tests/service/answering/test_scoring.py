"""The learned sentence scorer: its features, its committed weights, and its training maths."""

from __future__ import annotations

import numpy as np

from bench.train_sentence_scorer import fit_logistic
from service.answering.scoring import FEATURES, CandidateSignals, SentenceScorer, feature_rows


def _signals(similarity: float, order: int, rules_pass: bool = True) -> CandidateSignals:
    return CandidateSignals(
        similarity=similarity, lexical=0.5, passage_rank=0, score=similarity, order=order, type_strength=1.0,
        has_type=True, typed_question=True, rules_pass=rules_pass, anchored=True, english=False, length=80,
    )


def test_feature_rows_take_gaps_against_the_best_candidate() -> None:
    rows = feature_rows([_signals(0.9, 0), _signals(0.8, 1)])
    assert rows.shape == (2, len(FEATURES))
    gap = FEATURES.index("similarity_gap")
    assert rows[0, gap] == 0.0 and np.isclose(rows[1, gap], -0.1)


def test_no_candidates_give_no_rows_and_no_probabilities() -> None:
    scorer = SentenceScorer((0.0,) * len(FEATURES), 0.0, (0.0,) * len(FEATURES), (1.0,) * len(FEATURES), 0.5)
    assert feature_rows([]).shape == (0, len(FEATURES))
    assert scorer.run(feature_rows([])).shape == (0,)


def test_committed_weights_load_and_rank_a_better_candidate_higher() -> None:
    scorer = SentenceScorer.bundled()
    assert scorer is not None, "service/answering/data/sentence_scorer.json is missing"
    assert "bench.train_sentence_scorer" in scorer.source
    p = scorer.run(feature_rows([_signals(0.92, 0), _signals(0.70, 5, rules_pass=False)]))
    assert 0.0 <= p.min() and p.max() <= 1.0
    assert p[0] > p[1]


def test_weights_for_other_features_are_refused() -> None:
    data = SentenceScorer.bundled().to_json()
    data["features"] = data["features"][:-1]
    try:
        SentenceScorer.from_json(data)
    except ValueError as exc:
        assert "bench.train_sentence_scorer" in str(exc)
    else:
        raise AssertionError("weights for other features were accepted")


def test_logistic_fit_separates_a_separable_toy_problem() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    coefficients, intercept, means, scales = fit_logistic(x, y, l2=0.1)
    z = (x - means) / scales @ coefficients + intercept
    assert ((z > 0) == (y > 0)).mean() > 0.95
