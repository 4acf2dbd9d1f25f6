"""Removing what a prediction stored (the original app's /reset)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import RecognizerDep
from recognizer.api.errors import error_responses
from recognizer.schemas import DeletedResponse
from recognizer.service import Recognizer
from recognizer.storage import validate_prediction_id

router = APIRouter(tags=["predictions"])


async def delete_stored(recognizer: Recognizer, prediction_id: str) -> DeletedResponse:
    validate_prediction_id(prediction_id)
    deleted = await run_in_threadpool(recognizer.delete_prediction, prediction_id)
    return DeletedResponse(prediction_id=prediction_id, deleted=deleted)


@router.delete(
    "/predictions/{prediction_id}",
    response_model=DeletedResponse,
    summary="Delete the images a prediction stored",
    responses=error_responses(404, 422, 503),
)
async def delete_prediction(prediction_id: str, recognizer: RecognizerDep) -> DeletedResponse:
    return await delete_stored(recognizer, prediction_id)


@router.get(
    "/reset",
    response_model=DeletedResponse,
    summary="Delete the images a prediction stored (the original app's /reset)",
    responses=error_responses(404, 422, 503),
)
async def reset(
    recognizer: RecognizerDep,
    prediction_id: str = Query(description="The prediction_id a prediction answered."),
) -> DeletedResponse:
    return await delete_stored(recognizer, prediction_id)
