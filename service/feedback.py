"""Feedback on answers: signed answer ids, a short memory of recent answers, and storing a rating.

Every answer gets an `answer_id`: HMAC-SHA256 under a server secret over the question as it was
asked (what a caller of /api/ask and the widget have at hand) and the answer text, cut to 16 bytes, base64url (22 characters).
The server can thus check texts a caller echoes back without storing every answer, and ids do
not reveal or allow guessing the texts. The secret is a file in the data folder (0600), created
once and shared by all worker processes. Recent answers are also kept in a bounded in-memory
cache, so an API caller may send the id alone (the widget always sends the texts as well: the
worker that answered may not be the one that takes the feedback).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from service.database import Database, FeedbackRow
from service.redaction import Redactor

log = logging.getLogger("tagungsbot.feedback")

SECRET_FILENAME = "answer-signing.key"
SECRET_BYTES = 32
ID_BYTES = 16  # 22 base64url characters


class AnswerSigner:
    """Signs (question, answer) pairs into answer ids, and checks echoed texts against an id."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the answer signing secret must have at least 16 bytes")
        self._secret = secret

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> "AnswerSigner":
        """The signer with the secret of `data_dir`, created there (0600) on first use.

        When the folder cannot be written, a secret for this process only is used and a warning
        logged: ids still work for this process (feedback is not stored then anyway)."""
        path = Path(data_dir) / SECRET_FILENAME
        try:
            return cls(_read_or_create_secret(path))
        except OSError as exc:
            log.warning("answer ids signed with a secret of this process only: the secret file %s cannot be used "
                        "(%s); make the data folder writable or set TAGUNGSBOT_DATA_DIR", path, exc.strerror or exc)
            return cls(secrets.token_bytes(SECRET_BYTES))

    def run(self, question: str, answer: str) -> str:
        """The id of `answer` to `question` (the question as asked; runs of white space count as one space)."""
        question = " ".join(question.split())
        q, a = question.encode("utf-8", "surrogatepass"), answer.encode("utf-8", "surrogatepass")
        message = len(q).to_bytes(8, "big") + q + a  # length-prefixed: no two pairs give the same message
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()[:ID_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def matches(self, answer_id: str, question: str, answer: str) -> bool:
        return hmac.compare_digest(self.run(question, answer).encode("ascii"), answer_id.encode("utf-8", "surrogatepass"))


def _read_or_create_secret(path: Path) -> bytes:
    """Read the secret; create it atomically (link of a complete temp file) if it does not exist yet."""
    for _ in range(2):
        try:
            secret = path.read_bytes()
            if len(secret) >= SECRET_BYTES:
                return secret
            raise OSError(f"{path} holds {len(secret)} bytes, fewer than {SECRET_BYTES}; delete it to make a new one")
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, secrets.token_bytes(SECRET_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)  # fails if another worker was first: then its secret is read
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
    return path.read_bytes()


@dataclass(frozen=True)
class AnsweredQuestion:
    question: str
    answer: str
    store_version: str | None


class RecentAnswers:
    """The last `max_entries` answers of this process for `ttl_s` seconds, by answer id; thread-safe."""

    def __init__(self, max_entries: int = 5000, ttl_s: float = 7200.0) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._items: OrderedDict[str, tuple[float, AnsweredQuestion]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, answer_id: str, answered: AnsweredQuestion) -> None:
        with self._lock:
            self._items[answer_id] = (time.monotonic() + self.ttl_s, answered)
            self._items.move_to_end(answer_id)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def get(self, answer_id: str) -> AnsweredQuestion | None:
        with self._lock:
            entry = self._items.get(answer_id)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._items[answer_id]
                return None
            return entry[1]

    def __len__(self) -> int:
        return len(self._items)


class UnknownAnswer(LookupError):
    """An answer id this server does not remember, sent without the texts."""


class TextsDoNotMatch(ValueError):
    """Echoed question/answer texts that are not the ones the answer id was made for."""


@dataclass(frozen=True)
class FeedbackIn:
    answer_id: str
    rating: str
    comment: str | None = None
    question: str | None = None
    answer: str | None = None


class FeedbackRecorder:
    """Checks one piece of feedback against its answer id and stores it (personal data redacted).

    The answer id and the rating are stored as sent; the question and the comment are redacted
    like unanswered questions (staff may type client data into either); the answer comes from the
    documents and is stored as it was given.
    """

    def __init__(self, database: Database, signer: AnswerSigner, recent: RecentAnswers, redactor: Redactor) -> None:
        self.database = database
        self.signer = signer
        self.recent = recent
        self.redactor = redactor

    def remember(self, question: str, answer: str, store_version: str | None) -> str:
        """The answer id of a fresh answer, remembered for feedback by id alone."""
        answer_id = self.signer.run(question, answer)
        self.recent.put(answer_id, AnsweredQuestion(question, answer, store_version))
        return answer_id

    def run(self, feedback: FeedbackIn, store_version: str | None = None) -> FeedbackRow:
        """Store `feedback`; raises UnknownAnswer, TextsDoNotMatch or DatabaseUnavailable.

        `store_version`: the version served now, stored when the answer is not in this process's memory."""
        known = self.recent.get(feedback.answer_id)
        if feedback.question is not None or feedback.answer is not None:
            if feedback.question is None or feedback.answer is None:
                raise TextsDoNotMatch("send both question and answer, or neither")
            if not self.signer.matches(feedback.answer_id, feedback.question, feedback.answer):
                raise TextsDoNotMatch(
                    "the question and answer sent are not the ones this answer_id was given for; send the question "
                    "as sent to /api/ask and the answer of its response unchanged, or send only the answer_id"
                )
            question = " ".join(feedback.question.split())
            answered = AnsweredQuestion(question, feedback.answer, known.store_version if known else store_version)
        elif known is not None:
            answered = known
        else:
            raise UnknownAnswer(
                "this answer_id is unknown or has expired; send the question and answer with it "
                "(the question as sent to /api/ask and the answer of its response)"
            )
        comment = self.redactor.run(feedback.comment.strip()) if feedback.comment and feedback.comment.strip() else None
        return self.database.add_feedback(
            feedback.answer_id, feedback.rating, comment, self.redactor.run(answered.question), answered.answer,
            answered.store_version,
        )
