"""The FastAPI app factory: routes under /api, one error shape, OpenAPI at /api/docs."""

from __future__ import annotations

from fastapi import FastAPI

from recognizer.api.errors import install_error_handlers
from recognizer.api.outcome import OutcomeCallback, OutcomeMiddleware
from recognizer.api.routes import ROUTERS
from recognizer.api.routes.health import API_VERSION

API_PREFIX = "/api"


def create_app(on_outcome: OutcomeCallback | None = None) -> FastAPI:
    """A fresh app. ``on_outcome`` is told how each request ended (the Lambda handler's metrics)."""
    app = FastAPI(
        title="Digit recognizer",
        version=API_VERSION,
        description=(
            "Recognise handwritten digits and see what the network's convolutional layers "
            "see. Every error answers `{\"error\": {\"code\", \"message\"}}`."
        ),
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
    )
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    install_error_handlers(app)
    app.add_middleware(OutcomeMiddleware, on_outcome=on_outcome)
    return app
