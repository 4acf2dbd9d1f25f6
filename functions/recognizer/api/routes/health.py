from __future__ import annotations

from fastapi import APIRouter

from recognizer.inference import is_model_loaded
from recognizer.schemas import HealthResponse
from recognizer.settings import get_settings

API_VERSION = "0.1.0"

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Liveness and configuration")
def health() -> HealthResponse:
    return HealthResponse(
        version=API_VERSION,
        model_backend=get_settings().model_backend,
        model_loaded=is_model_loaded(),
    )
