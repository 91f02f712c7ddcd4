"""Admin API for the documents of the store: list, upload, delete, correct metadata (issue 13)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.security import require_admin

router = APIRouter(prefix="/api/admin", tags=["documents"], dependencies=[Depends(require_admin)])
