"""Liveness and readiness probes for load balancers and Kubernetes."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from service.dependencies import get_state
from service.qa import QuestionAnswering
from service.schemas import Health, Readiness
from service.state import ServiceState

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, summary="A store is loaded")
def readyz(state: ServiceState = Depends(get_state)):
    current = state.current()
    if isinstance(current, QuestionAnswering):
        m = current.store.manifest
        # Ready, but a newer version may have been refused: say so (without server paths).
        return Readiness(
            status="ready", store_version=m.version, documents=len(current.store.documents),
            chunks=len(current.store.chunks), model=m.model,
            detail=f"still serving {m.version}: {state.last_reload_error_public}" if state.last_reload_error_public else None,
        )
    return JSONResponse(status_code=503, content=Readiness(status="not ready", detail=current.reason).model_dump())
