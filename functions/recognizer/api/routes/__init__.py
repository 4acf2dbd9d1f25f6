"""The API's routers. A new route family is one module with a ``router`` plus one line here."""

from __future__ import annotations

from fastapi import APIRouter

from recognizer.api.routes import batch, health, jobs, multi, predict, predictions, uploads

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    predict.router,
    predictions.router,
    multi.router,
    batch.router,
    uploads.router,
    jobs.router,
)
