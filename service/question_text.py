"""The one check of a question's text, shared by the HTTP API and the command line."""

from __future__ import annotations

from service.schemas import EXAMPLE_QUESTION, UNPAIRED_SURROGATE, has_lone_surrogate


class QuestionRejected(ValueError):
    """The text cannot be asked; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def empty_message(field: str) -> str:
    return f"the {field} is empty; type a question, e.g. '{EXAMPLE_QUESTION}'"


def checked_question(text: str, max_chars: int, field: str = "question") -> str:
    """`text` stripped, or `QuestionRejected`: 422 when empty or not proper Unicode, 413 when
    longer than `max_chars` (the message says the limit and what to do)."""
    stripped = text.strip()
    if not stripped:
        raise QuestionRejected(422, empty_message(field))
    if has_lone_surrogate(stripped):
        raise QuestionRejected(422, f"the {field} {UNPAIRED_SURROGATE}")
    if len(stripped) > max_chars:
        raise QuestionRejected(
            413, f"the {field} has {len(stripped)} characters; the limit is {max_chars}. Shorten it."
        )
    return stripped
