"""Questions the documents do not answer: recorded (when switched on) and grouped for the editors.

Recording is off by default (staff might type client data into a question). When it is on,
every abstained answer ("not in the documents"; not small talk, not a question back) hands its
question to `UnansweredRecorder.offer`, which only puts it on a bounded queue: the request never
waits on the disk. One background thread redacts the question (service/redaction.py), embeds the
*redacted* text once with the service's embedder (so the stored vector carries nothing the
redaction removed; the request's own query vector is of the unredacted text) and writes both.
A database that cannot take the row is logged and the row dropped; the service goes on.

`QuestionGroups` groups similar questions by the cosine similarity of those embeddings: each
question joins the group whose centroid is most similar if that similarity is at least the
threshold, else opens a new group; a second pass reassigns every question to its best centroid,
so the result does not depend on the order much. The label of a group is its most central
question. The threshold 0.91 was chosen on 40 German and English question pairs written for this
(tests/service/data/paraphrase_pairs.json: 20 paraphrases, 4 of them German-English, and 20
different questions on the same kind of topic) with the bundled multilingual-e5-small (query
prompt): paraphrases have cosine 0.865-0.989, different questions 0.749-0.980, so no threshold
separates them; 0.91 is the best one, with 29 of 40 pairs (0.725) right: 14 of 20 paraphrases
joined, 15 of 20 different questions kept apart (tests/service/test_unanswered.py checks it).
Clear paraphrases of one question (cosine 0.96-0.99) group reliably; questions on one narrow
topic may share a group, which is why the report lists every question of a group.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from service.database import Database, DatabaseUnavailable, UnansweredRow
from service.redaction import Redactor

log = logging.getLogger("tagungsbot.unanswered")

GROUP_THRESHOLD = 0.91
_STOP = object()


@dataclass(frozen=True)
class Unanswered:
    """One abstained question as the request saw it (not redacted yet)."""

    question: str
    language: str | None
    store_version: str | None


class UnansweredRecorder:
    """Records abstained questions in the background: redact, embed once, store."""

    def __init__(
        self, database: Database, redactor: Redactor, embed: Callable[[str], np.ndarray], enabled: bool,
        max_queued: int = 1000,
    ) -> None:
        """`embed`: text -> float32 vector (the service's embedder); `enabled`: settings.record_unanswered."""
        self.database = database
        self.redactor = redactor
        self.embed = embed
        self.enabled = enabled
        self._queue: queue.Queue[Unanswered | object] = queue.Queue(maxsize=max_queued)
        self._thread: threading.Thread | None = None
        self._dropped = 0

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._work, name="unanswered-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (for at most `timeout_s`), then end the thread."""
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        self._thread = None

    def offer(self, item: Unanswered) -> None:
        """Queue `item` for recording, if recording is on; never blocks."""
        if not self.enabled or self._thread is None:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 100 == 0:
                log.warning("unanswered question not recorded: the writer is %d questions behind (%d dropped)",
                            self._queue.maxsize, self._dropped)

    def run(self, item: Unanswered) -> int:
        """Redact, embed and store one question now; the row id. Raises DatabaseUnavailable."""
        text = self.redactor.run(item.question)
        vector = np.asarray(self.embed(text), dtype=np.float32)
        return self.database.add_unanswered(text, vector, item.language, item.store_version)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self.run(item)  # type: ignore[arg-type]
            except DatabaseUnavailable as exc:
                log.warning("unanswered question not recorded: %s", exc)
            except Exception:  # noqa: BLE001 - the writer thread must not die
                log.exception("unanswered question not recorded")


@dataclass(frozen=True)
class QuestionGroup:
    label: str
    count: int
    questions: list[str]
    first_seen: str
    last_seen: str


class QuestionGroups:
    """Groups stored unanswered questions by similarity, largest group first."""

    def __init__(self, threshold: float = GROUP_THRESHOLD) -> None:
        self.threshold = threshold

    def run(self, rows: Sequence[UnansweredRow]) -> list[QuestionGroup]:
        if not rows:
            return []
        vectors = np.stack([_unit(r.embedding) for r in rows])
        members = self._assign(vectors)
        groups = []
        for indices in members:
            centroid = _unit(vectors[indices].mean(axis=0))
            central = indices[int(np.argmax(vectors[indices] @ centroid))]
            seen = sorted(rows[i].created_at for i in indices)
            groups.append(QuestionGroup(
                label=rows[central].question, count=len(indices), questions=[rows[i].question for i in indices],
                first_seen=seen[0], last_seen=seen[-1],
            ))
        groups.sort(key=lambda g: g.last_seen, reverse=True)
        groups.sort(key=lambda g: g.count, reverse=True)  # stable: equal counts keep the most recent first
        return groups

    def _assign(self, vectors: np.ndarray) -> list[list[int]]:
        """Leader clustering on centroids, then one reassignment pass; lists of row indices."""
        sums: list[np.ndarray] = []
        for vector in vectors:
            if sums:
                sims = np.stack([_unit(s) for s in sums]) @ vector
                best = int(np.argmax(sims))
                if sims[best] >= self.threshold:
                    sums[best] = sums[best] + vector
                    continue
            sums.append(vector.copy())
        centroids = np.stack([_unit(s) for s in sums])
        sims = vectors @ centroids.T
        best = sims.argmax(axis=1)
        members: dict[int, list[int]] = {}
        for i, g in enumerate(best):
            if sims[i, g] >= self.threshold:
                members.setdefault(int(g), []).append(i)
            else:  # its own centroid moved away from it: it stands alone
                members.setdefault(-1 - i, []).append(i)
        return list(members.values())


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
