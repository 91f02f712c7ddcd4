"""POST /api/feedback: thumbs up or down, with an optional comment, on one answer (issue 13)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["feedback"])
