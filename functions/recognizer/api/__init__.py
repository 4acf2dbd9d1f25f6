"""The HTTP API (FastAPI): the same app runs in Lambda through Mangum and locally in uvicorn."""

from recognizer.api.app import create_app

__all__ = ["create_app"]
