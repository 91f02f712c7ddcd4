"""Admin API for what staff said and asked: feedback and unanswered questions, as JSON and CSV (issue 13)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.security import require_admin

router = APIRouter(prefix="/api/admin", tags=["reports"], dependencies=[Depends(require_admin)])
