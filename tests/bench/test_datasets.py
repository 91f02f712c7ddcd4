"""The evaluation data lives in the repository, the conference split is fixed, folds hold out whole articles.

Reads only files of this checkout (bench/data/, bench/conference_questions.jsonl, corpus/).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from bench.datasets import (
    CONFERENCE_SET, CORPUS_DIR, EVENTS_DIR, XQUAD_DIR, Case, article_folds, conference_cases, conference_groups,
    event_cases, event_reports, read_jsonl, split_conference, xquad_cases, xquad_passages,
)
from bench.evaluate import accepts_history
from bench.stores import five_report_files, store_key, write_corpus


def test_xquad_dev_half_is_in_the_repo_with_its_licence() -> None:
    assert "Attribution-ShareAlike 4.0" in (XQUAD_DIR / "LICENSE-CC-BY-SA-4.0.txt").read_text(encoding="utf-8")
    readme = (XQUAD_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme or "Attribution-ShareAlike 4.0" in readme
    passages = {p["id"] for p in xquad_passages()}
    assert len(passages) == 240
    for lang in ("de", "en"):
        cases = xquad_cases(lang)
        assert len(cases) == 612
        assert {c.passage_id for c in cases} <= passages
        assert {int(c.article.split("-")[1]) % 2 for c in cases} == {0}  # only the even (dev) articles


def test_event_set_is_in_the_repo_and_its_reports_exist() -> None:
    readme = (EVENTS_DIR / "README.md").read_text(encoding="utf-8")
    assert "CEO" in readme and "How an answer is judged" in readme
    cases = event_cases()
    assert len(cases) == 77
    assert Counter(c.expect for c in cases) == {"answer": 65, "abstain": 9, "smalltalk": 3}
    available = {p.name for p in event_reports()} | {p.name for p in CORPUS_DIR.glob("*.md")}
    assert len(event_reports()) == 4
    for case in cases:
        assert set(case.docs) <= available, case.id
        assert (case.kind == "followup") == bool(case.history), case.id
    assert {c.id for c in event_cases(kinds={"followup"})} == {c.id for c in cases if c.kind == "followup"}


def test_conference_split_is_committed_and_matches_its_rule() -> None:
    rows = read_jsonl(CONFERENCE_SET)
    assert {row.get("split") for row in rows} == {"dev", "test"}
    assert {row["id"]: row["split"] for row in rows} == split_conference(rows)
    dev, test = conference_cases(split="dev"), conference_cases(split="test")
    assert len(dev) + len(test) == len(rows) and not {c.id for c in dev} & {c.id for c in test}
    for answerable in (True, False):
        for lang in ("de", "en"):
            stratum = [r for r in rows if r["answerable"] == answerable and r["lang"] == lang]
            share = sum(r["split"] == "dev" for r in stratum) / len(stratum)
            assert 0.5 <= share <= 0.7, (answerable, lang, share)
    with pytest.raises(ValueError, match="unknown split"):
        conference_cases(split="train")


def test_translations_and_paraphrases_stay_on_one_side() -> None:
    rows = read_jsonl(CONFERENCE_SET)
    split = {row["id"]: row["split"] for row in rows}
    groups = conference_groups(rows)
    assert ["q001", "q002"] in groups  # the same date question in German and English
    for group in groups:
        assert len({split[i] for i in group}) == 1, group
    # The rule depends on the questions, not on their order in the file.
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert split_conference(shuffled) == split


def test_article_folds_hold_out_whole_articles_and_cover_every_case() -> None:
    de, en = xquad_cases("de"), xquad_cases("en")
    folds = article_folds(de, 4)
    assert len(folds) == 4
    held = [set(f.articles) for f in folds]
    assert set().union(*held) == {c.article for c in de}
    assert sum(len(h) for h in held) == len(set().union(*held))  # no article in two folds
    for fold in folds:
        assert not {c.article for c in fold.train} & set(fold.articles)
        assert len(fold.train) + len(fold.test) == len(de)
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 74  # the largest article has 74 questions
    assert [f.articles for f in article_folds(list(reversed(en)), 4)] == [f.articles for f in folds]
    with pytest.raises(ValueError, match="k >= 2"):
        article_folds(de, 1)
    with pytest.raises(ValueError, match="no XQuAD passage"):
        article_folds([Case("a", "de", "?", True)], 2)


def test_store_key_follows_content_and_write_corpus_mirrors_files(tmp_path: Path) -> None:
    files = five_report_files()
    assert len(files) == 5 and all(name.endswith(".md") for name in files)
    key = store_key(files, "m", 600, 100, "code")
    assert key == store_key(dict(reversed(list(files.items()))), "m", 600, 100, "code")
    changed = {**files, next(iter(files)): b"changed"}
    assert len({key, store_key(changed, "m", 600, 100, "code"), store_key(files, "m", 500, 100, "code"),
                store_key(files, "m", 600, 100, "other code")}) == 4
    target = tmp_path / "corpus"
    (target / "old").mkdir(parents=True)
    (target / "old" / "stale.md").write_text("stale", encoding="utf-8")
    write_corpus(target, {"a.md": b"A", "sub/b.md": b"B"})
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == ["a.md", "sub/b.md"]


def test_history_support_is_read_from_the_signature() -> None:
    def old(question: str, top_k: int): ...

    def new(question: str, top_k: int, history=None): ...

    def loose(question: str, top_k: int, **options): ...

    assert not accepts_history(old) and accepts_history(new) and accepts_history(loose)


def test_every_line_of_the_sets_is_valid_json_with_an_id() -> None:
    for path in (CONFERENCE_SET, EVENTS_DIR / "questions.jsonl", XQUAD_DIR / "questions.de.jsonl"):
        ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert len(ids) == len(set(ids)), path
