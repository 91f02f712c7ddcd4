"""Pure judging: one /api/ask response body and one case in, a `Verdict` out.

Nothing here asks the system, reads files or keeps state, so every rule can be tested on
made-up responses (tests/bench/test_judging.py). A response body is the JSON of /api/ask:
`answer`, `abstained`, `citations` (each with `doc_id`, `text`, ...), optionally `kind`.

Every verdict has one status:
- `right`     the response is what the case asks for (a right answer, an abstention where
              none is in the documents, a conversational reply to smalltalk);
- `wrong`     it answered, and the answer is not right (this includes any answer to a
              question the documents do not answer);
- `abstained` it said "not in the documents" where an answer (or a reply) was due.

`tally` turns verdicts into the reported figures: precision = right answers ÷ answers,
coverage = answers ÷ questions ("answers" are responses that are not abstentions).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable, Sequence

from bench.datasets import Case, EventCase

RIGHT, WRONG, ABSTAINED = "right", "wrong", "abstained"
MAX_QUOTED_SENTENCES = 2  # XQuAD: a fact answer quotes at most this many sentences


@dataclass(frozen=True)
class Verdict:
    """What the system did with one question, and why it counts as it does."""

    id: str
    lang: str
    kind: str
    status: str  # RIGHT, WRONG or ABSTAINED
    answered: bool  # the response is not an abstention
    reason: str = ""  # why a response is not right (empty when right)
    citations: int = 0
    citations_from_doc: int | None = None  # cited passages from the case's doc(s); None: the case names none
    quoted_sentences: int | None = None
    question: str = ""
    answer: str = ""
    ms: float = 0.0
    rank: int | None = None  # XQuAD: 1-based rank of the gold passage among the retrieved ones

    @property
    def right(self) -> bool:
        return self.status == RIGHT


# ----------------------------------------------------------------------------- text matching


_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a"})
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")


def squash(text: str) -> str:
    """Case-folded, Unicode-composed, whitespace collapsed to single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def folded(text: str) -> str:
    """`squash` plus umlauts and their ASCII spellings folded (Königstein = Koenigstein)."""
    return _DIGRAPHS.sub(lambda m: m.group(1)[0], squash(text).translate(_FOLD))


def contains(haystack: str, needle: str) -> bool:
    """Case-insensitive substring after whitespace normalisation (the event set's rule)."""
    return bool(needle.strip()) and squash(needle) in squash(haystack)


def contains_folded(haystack: str, needle: str) -> bool:
    """Like `contains`, also blind to umlaut spelling (conference set and XQuAD)."""
    return bool(needle.strip()) and folded(needle) in folded(haystack)


_MARKER = re.compile(r"\[(\d+)\]")
_OPENING_QUOTE = re.compile(r"[„“\"»]")
_CLOSING_QUOTES = "“”\"«» "
_ABBREVIATION = re.compile(r"(?:\b(?:Dr|Prof|Nr|St|bzw|ca|vgl|ggf|usw|etc|Mr|Mrs|Ms|Jr|Sr|No|vs)|\b[A-Za-z]|\d)\.$")


def sentence_count(text: str) -> int:
    """Sentences in a piece of text: ends . ! ? followed by a capital or digit, abbreviations aside."""
    text = text.strip()
    if not text:
        return 0
    count = 1
    for match in re.finditer(r"[.!?](?=\s+[A-ZÄÖÜ0-9„\"])", text):
        if _ABBREVIATION.search(text[: match.end()]):
            continue
        count += 1
    return count


def quoted_sentences(answer: str) -> int:
    """How many document sentences an answer quotes.

    Each `[n]` marker closes one quoted part (the text since the previous marker or line
    start). When the part opens a quotation mark, only the text after it is counted (a lead
    such as "Name (Organisation). According to the documents:" is not quoted); quotes inside
    the quote are part of it. An answer without markers quotes nothing.
    """
    total = 0
    start = 0
    for match in _MARKER.finditer(answer):
        part = answer[start:match.start()].split("\n")[-1]
        start = match.end()
        opening = _OPENING_QUOTE.search(part)
        quoted = part[opening.end():] if opening else part
        total += max(1, sentence_count(quoted.strip().rstrip(_CLOSING_QUOTES)))
    return total


def cited_doc(citation: dict) -> str:
    """File name of a citation's document (`doc_id` may carry sub-folders)."""
    return PurePosixPath(str(citation.get("doc_id", ""))).name


def _cited_stem(citation: dict) -> str:
    return PurePosixPath(cited_doc(citation)).stem


# ----------------------------------------------------------------------------- judges


def _base(case_id: str, lang: str, kind: str, question: str, body: dict) -> dict:
    return {
        "id": case_id, "lang": lang, "kind": kind, "question": question,
        "answer": str(body.get("answer", "")), "answered": not bool(body.get("abstained")),
        "citations": len(body.get("citations") or ()),
        "ms": float(body.get("_client_ms", body.get("took_ms", 0.0)) or 0.0),
    }


def judge_conference(case: Case, body: dict) -> Verdict:
    """Answerable: an expected answer in the text AND a citation holding the evidence.
    Unanswerable: an abstention."""
    base = _base(case.id, case.lang, case.kind, case.question, body)
    citations = body.get("citations") or []
    if not case.answerable:
        if base["answered"]:
            return Verdict(status=WRONG, reason="answered a question the documents do not answer", **base)
        return Verdict(status=RIGHT, **base)
    if not base["answered"]:
        return Verdict(status=ABSTAINED, reason="abstained", **base)
    answer_ok = any(contains_folded(base["answer"], a) for a in case.answers)
    cited_ok = any(contains_folded(str(c.get("text", "")), e) for c in citations for e in case.evidence)
    if answer_ok and cited_ok:
        return Verdict(status=RIGHT, **base)
    reason = "no expected answer in the text" if not answer_ok else "no citation holds the evidence"
    return Verdict(status=WRONG, reason=reason, **base)


def judge_event(case: EventCase, body: dict) -> Verdict:
    """The event set's rules (bench/data/events/README.md)."""
    base = _base(case.id, case.lang, case.kind, case.question, body)
    citations = body.get("citations") or []
    from_doc = sum(1 for c in citations if cited_doc(c) in case.docs) if case.docs else None
    base["citations_from_doc"] = from_doc
    if case.expect == "abstain":
        if base["answered"]:
            return Verdict(status=WRONG, reason="asserted an answer the reports do not hold", **base)
        return Verdict(status=RIGHT, **base)
    if case.expect == "smalltalk":
        if not base["answered"]:
            return Verdict(status=ABSTAINED, reason="treated small talk as a question to the documents", **base)
        if citations:
            return Verdict(status=WRONG, reason="small talk answered with cited passages", **base)
        kind = body.get("kind")
        if kind is not None and kind != "smalltalk":
            return Verdict(status=WRONG, reason=f"small talk answered as kind {kind!r}", **base)
        return Verdict(status=RIGHT, **base)
    if case.expect == "clarify":  # a follow-up nobody could resolve with confidence: ask back
        if body.get("kind") == "clarify":
            return Verdict(status=RIGHT, **base)
        if not base["answered"]:
            return Verdict(status=ABSTAINED, reason="abstained instead of asking back", **base)
        return Verdict(status=WRONG, reason="answered a follow-up that needed a question back", **base)
    if case.expect != "answer":
        raise ValueError(f"{case.id}: unknown expect {case.expect!r}")
    if not base["answered"]:
        return Verdict(status=ABSTAINED, reason="abstained", **base)
    if body.get("kind") == "clarify":
        return Verdict(status=ABSTAINED, reason="asked back", **base)
    missing = [group for group in case.groups if not any(contains(base["answer"], alt) for alt in group)]
    if missing:
        shown = "; ".join(" / ".join(group) for group in missing[:3])
        return Verdict(status=WRONG, reason=f"{len(missing)} of {len(case.groups)} groups missing: {shown}", **base)
    return Verdict(status=RIGHT, **base)


def judge_xquad(case: Case, body: dict, max_sentences: int = MAX_QUOTED_SENTENCES) -> Verdict:
    """Right: a gold (German) answer string in the answer, the gold passage cited, and at most
    `max_sentences` sentences quoted. `reason` names the first condition that failed."""
    base = _base(case.id, case.lang, case.kind, case.question, body)
    citations = body.get("citations") or []
    base["citations_from_doc"] = sum(1 for c in citations if _cited_stem(c) == case.passage_id)
    base["quoted_sentences"] = quoted_sentences(base["answer"]) if base["answered"] else 0
    base["rank"] = gold_rank(case, body)
    if not base["answered"]:
        return Verdict(status=ABSTAINED, reason="abstained", **base)
    if not any(contains_folded(base["answer"], a) for a in case.answers):
        return Verdict(status=WRONG, reason="no gold answer in the text", **base)
    if not base["citations_from_doc"]:
        return Verdict(status=WRONG, reason="gold passage not cited", **base)
    if base["quoted_sentences"] > max_sentences:
        return Verdict(status=WRONG, reason=f"quotes {base['quoted_sentences']} sentences", **base)
    return Verdict(status=RIGHT, **base)


def gold_rank(case: Case, body: dict) -> int | None:
    """1-based rank of the gold passage among `_ranked_doc_ids` (in-process runs only)."""
    for i, doc_id in enumerate(body.get("_ranked_doc_ids") or ()):
        if PurePosixPath(str(doc_id)).stem == case.passage_id:
            return i + 1
    return None


# ----------------------------------------------------------------------------- figures


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def tally(verdicts: Sequence[Verdict]) -> dict:
    """Counts and shares of one group of verdicts (see the module docstring)."""
    answered = [v for v in verdicts if v.answered]
    right_answers = sum(1 for v in answered if v.right)
    with_doc = [v for v in answered if v.citations_from_doc is not None and v.citations]
    out = {
        "questions": len(verdicts),
        "right": sum(1 for v in verdicts if v.right),
        "wrong": sum(1 for v in verdicts if v.status == WRONG),
        "abstained": sum(1 for v in verdicts if v.status == ABSTAINED),
        "answered": len(answered),
        "right_share": _share(sum(1 for v in verdicts if v.right), len(verdicts)),
        "precision": _share(right_answers, len(answered)),
        "coverage": _share(len(answered), len(verdicts)),
        "citation_precision": _share(
            sum(v.citations_from_doc or 0 for v in with_doc), sum(v.citations for v in with_doc)
        ),
    }
    ms = sorted(v.ms for v in verdicts if v.ms)
    if ms:
        out["ms_median"] = round(ms[len(ms) // 2] if len(ms) % 2 else (ms[len(ms) // 2 - 1] + ms[len(ms) // 2]) / 2, 1)
    return out


def retrieval_figures(verdicts: Sequence[Verdict]) -> dict:
    """hit@1, hit@5 and MRR@10 of the gold passage (XQuAD, in-process runs)."""
    ranks = [v.rank for v in verdicts]
    if not ranks:
        return {}
    return {
        "hit@1": _share(sum(1 for r in ranks if r is not None and r <= 1), len(ranks)),
        "hit@5": _share(sum(1 for r in ranks if r is not None and r <= 5), len(ranks)),
        "mrr@10": round(sum(1.0 / r for r in ranks if r is not None and r <= 10) / len(ranks), 4),
    }


def by_field(verdicts: Iterable[Verdict], name: str) -> dict[str, dict]:
    """`tally` per value of a verdict field (e.g. "kind" or "lang"), plus "all"."""
    verdicts = list(verdicts)
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault(str(getattr(v, name)), []).append(v)
    result = {key: tally(group) for key, group in sorted(groups.items())}
    result["all"] = tally(verdicts)
    return result
