"""Answering: from a question and retrieved passages to a cited answer (see `core`)."""
