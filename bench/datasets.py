"""The evaluation sets as typed cases, read only from files in this repository.

- the conference set (`bench/conference_questions.jsonl`), split once into a dev part and a
  test part (`split` field, written by `python -m bench.conference_split`);
- the event-report set (`bench/data/events/`): questions of several kinds over four reports
  that share the store with the 2025 report of `corpus/`;
- the XQuAD development half (`bench/data/xquad/`), with folds by article so that anything
  fitted on it is reported on articles it was not fitted on.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]
CONFERENCE_SET = ROOT / "bench" / "conference_questions.jsonl"
CORPUS_DIR = ROOT / "corpus"
DATA_DIR = ROOT / "bench" / "data"
EVENTS_DIR = DATA_DIR / "events"
XQUAD_DIR = DATA_DIR / "xquad"

SPLITS = ("dev", "test")
DEV_SHARE = 0.6
_SPLIT_SALT = "tagungsbot-conference-split-v1"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ----------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One conference or XQuAD question with what a right answer must contain."""

    id: str
    lang: str
    question: str
    answerable: bool
    answers: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # any of these inside a citation makes it the right one
    passage_id: str | None = None  # XQuAD: the gold passage (= document file stem)
    kind: str = ""  # conference: the answer type (person, date, ...); XQuAD: "factoid"
    split: str = ""  # conference: "dev" or "test"

    @property
    def article(self) -> str | None:
        """XQuAD article of the gold passage (`xquad-07-03` → `xquad-07`)."""
        return article_of(self.passage_id) if self.passage_id else None


@dataclass(frozen=True)
class EventCase:
    """One question of the event-report set, judged as `bench/data/events/README.md` says."""

    id: str
    lang: str
    kind: str
    question: str
    expect: str  # "answer", "abstain" or "smalltalk"
    groups: tuple[tuple[str, ...], ...] = ()  # every group must be matched by one alternative
    docs: tuple[str, ...] = ()  # reports a cited passage may come from
    history: tuple[dict, ...] = field(default=())  # earlier turns: {"question", "answer"}
    standalone: str = ""  # follow-up set: the standalone question the follow-up means

    @property
    def split(self) -> str:
        """The event set is split by id once: odd numbers are the dev part that answering was
        tuned on, even numbers the test part that is only reported."""
        digits = "".join(ch for ch in self.id if ch.isdigit())
        return "dev" if digits and int(digits) % 2 else "test"


def _evidence(row: dict) -> tuple[str, ...]:
    value = row.get("evidence")
    if isinstance(value, str):
        return (value,)
    return tuple(value or ())


def conference_cases(path: Path = CONFERENCE_SET, split: str | None = None) -> list[Case]:
    """The conference set; `split` ("dev"/"test") keeps one part only."""
    cases = [
        Case(
            id=row["id"], lang=row["lang"], question=row["question"], answerable=bool(row["answerable"]),
            answers=tuple(row.get("answers") or ()), evidence=_evidence(row), kind=row.get("type", ""),
            split=row.get("split", ""),
        )
        for row in read_jsonl(path)
    ]
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        cases = [c for c in cases if c.split == split]
    return cases


def event_cases(data_dir: Path = EVENTS_DIR, kinds: Iterable[str] | None = None) -> list[EventCase]:
    """The event-report questions (optionally of some kinds only, e.g. {"followup"})."""
    wanted = set(kinds) if kinds is not None else None
    cases = []
    for row in read_jsonl(data_dir / "questions.jsonl"):
        if wanted is not None and row["kind"] not in wanted:
            continue
        docs = tuple(row.get("docs") or ([row["doc"]] if row.get("doc") else []))
        cases.append(EventCase(
            id=row["id"], lang=row["lang"], kind=row["kind"], question=row["question"], expect=row["expect"],
            groups=tuple(tuple(group) for group in row.get("answers") or ()), docs=docs,
            history=tuple(row.get("history") or ()),
        ))
    return cases


FOLLOWUPS = ROOT / "bench" / "followups.jsonl"


def followup_cases(path: Path = FOLLOWUPS) -> list[EventCase]:
    """The repo's follow-up set: each follow-up with its history and the standalone question it means."""
    return [
        EventCase(
            id=row["id"], lang=row["lang"], kind="followup", question=row["question"], expect=row["expect"],
            groups=tuple(tuple(group) for group in row.get("answers") or ()),
            docs=(row["doc"],) if row.get("doc") else (), history=tuple(row.get("history") or ()),
            standalone=row.get("standalone", ""),
        )
        for row in read_jsonl(path)
    ]


def event_reports(data_dir: Path = EVENTS_DIR) -> list[Path]:
    """The four event reports (Markdown files beside questions.jsonl, without the README)."""
    return sorted(p for p in data_dir.glob("*.md") if p.name != "README.md")


def xquad_cases(lang: str, data_dir: Path = XQUAD_DIR) -> list[Case]:
    """German (`de`) or English (`en`) XQuAD questions; gold answers are the German spans."""
    return [
        Case(
            id=f"{row['id']}-{lang}", lang=lang, question=row["question"], answerable=True,
            answers=tuple(row["answer_texts"]), passage_id=row["passage_id"], kind="factoid",
        )
        for row in read_jsonl(data_dir / f"questions.{lang}.jsonl")
    ]


def xquad_passages(data_dir: Path = XQUAD_DIR) -> list[dict]:
    return read_jsonl(data_dir / "passages.de.jsonl")


# ----------------------------------------------------------------------------- XQuAD folds by article


_ARTICLE = re.compile(r"^(xquad-\d+)-\d+$")


def article_of(passage_id: str) -> str:
    match = _ARTICLE.match(passage_id)
    if not match:
        raise ValueError(f"{passage_id!r} is not an XQuAD passage id (xquad-AA-PP)")
    return match.group(1)


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: fit on `train`, report on `test` (disjoint articles)."""

    index: int
    articles: tuple[str, ...]  # the held-out articles
    train: tuple[Case, ...]
    test: tuple[Case, ...]


def article_folds(cases: Sequence[Case], k: int) -> list[Fold]:
    """`k` folds with whole articles held out, balanced by question count.

    Articles are taken largest first and each goes to the fold with the fewest questions
    so far (ties: lower fold index), so the assignment depends only on the cases, never
    on their order or a random seed. German and English cases of one article land in the
    same fold because the article id is the same.
    """
    if k < 2:
        raise ValueError(f"article_folds needs k >= 2, got {k}")
    counts: dict[str, int] = {}
    for case in cases:
        if case.article is None:
            raise ValueError(f"case {case.id} has no XQuAD passage, so no article to fold by")
        counts[case.article] = counts.get(case.article, 0) + 1
    if len(counts) < k:
        raise ValueError(f"{len(counts)} articles cannot make {k} folds")
    load = [0] * k
    members: list[list[str]] = [[] for _ in range(k)]
    for article, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        target = min(range(k), key=lambda i: (load[i], i))
        members[target].append(article)
        load[target] += n
    folds = []
    for i, articles in enumerate(members):
        held = set(articles)
        folds.append(Fold(
            index=i, articles=tuple(sorted(held)),
            train=tuple(c for c in cases if c.article not in held),
            test=tuple(c for c in cases if c.article in held),
        ))
    return folds


# ----------------------------------------------------------------------------- the conference split


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def conference_groups(rows: Sequence[dict]) -> list[list[str]]:
    """Ids of questions about the same fact: translations and paraphrases of one question.

    Two answerable questions belong together when their evidence strings share one (or one
    contains the other); unanswerable questions have no evidence and stand alone.
    """
    parent = {row["id"]: row["id"] for row in rows}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    evidence = {row["id"]: [_norm(e) for e in _evidence(row)] for row in rows if row.get("answerable")}
    ids = list(evidence)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if any(x in y or y in x for x in evidence[a] for y in evidence[b]):
                parent[find(b)] = find(a)
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(find(row["id"]), []).append(row["id"])
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def split_conference(rows: Sequence[dict], dev_share: float = DEV_SHARE) -> dict[str, str]:
    """id → "dev"/"test": whole groups, stratified by answerable and the group's languages.

    Within a stratum the groups are ordered by a salted SHA-256 of their first id and go
    to dev until dev holds `dev_share` of the stratum's questions (rounded); the rest is test.
    """
    by_id = {row["id"]: row for row in rows}
    strata: dict[tuple, list[list[str]]] = {}
    for group in conference_groups(rows):
        langs = tuple(sorted({by_id[i]["lang"] for i in group}))
        strata.setdefault((bool(by_id[group[0]]["answerable"]), langs), []).append(group)
    split: dict[str, str] = {}
    for groups in strata.values():
        groups.sort(key=lambda g: hashlib.sha256(f"{_SPLIT_SALT}:{g[0]}".encode()).hexdigest())
        total = sum(len(g) for g in groups)
        wanted = round(total * dev_share)
        taken = 0
        for group in groups:
            side = "dev" if taken < wanted and (taken + len(group) <= wanted or taken == 0) else "test"
            taken += len(group) if side == "dev" else 0
            for i in group:
                split[i] = side
    return split
