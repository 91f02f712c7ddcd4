"""Errors with a message a person can act on: what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path


class TagungsbotError(Exception):
    """Base class; `str(error)` is meant to be shown to the user as it is."""


class StoreMissingError(TagungsbotError):
    """No vector store has been built yet at the configured index directory."""


class StoreCorruptError(TagungsbotError):
    """Store files exist but cannot be read (truncated, damaged, or inconsistent)."""


class StoreIncompatibleError(TagungsbotError):
    """The store was built with another model, dimension or format version."""


class ModelNotAvailableError(TagungsbotError):
    """The configured embedding model is not installed or cannot be loaded offline."""


class CorpusError(TagungsbotError):
    """The corpus folder is missing, empty, or holds no readable document."""


def model_cache_not_writable(cache_dir: Path, exc: OSError) -> ModelNotAvailableError:
    """The model cache cannot take the one-time conversion or export: say where and how to fix it."""
    return ModelNotAvailableError(
        f"the model cache {Path(cache_dir).absolute()} cannot be written ({exc.strerror or exc}) and does not "
        f"hold the prepared model yet; make it writable, set TAGUNGSBOT_MODEL_CACHE to a writable folder, "
        f"or prepare it once with `tagungsbot ingest` run by a user who may write it"
    )
