from __future__ import annotations

from fastapi import APIRouter

from recognizer.api.deps import RecognizerDep
from recognizer.schemas import HealthResponse

API_VERSION = "0.1.0"

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Liveness and configuration")
def health(recognizer: RecognizerDep) -> HealthResponse:
    return HealthResponse(
        version=API_VERSION,
        model_backend=recognizer.settings.model_backend,
        model_loaded=True,  # the recognizer loads its networks before the app exists
    )
