"""What a prediction stored: removing it (the original app's /reset), and correcting its answer."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import RecognizerDep
from recognizer.api.errors import error_responses
from recognizer.schemas import CorrectionReceipt, CorrectionRequest, DeletedResponse
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


@router.post(
    "/predictions/{prediction_id}/correction",
    response_model=CorrectionReceipt,
    status_code=status.HTTP_201_CREATED,
    summary="Say what a prediction's image really was",
    description=(
        'Send `{"digit": 0-9, or null for "not a digit", "consent": true}` after a wrong answer. With the '
        "person's consent, only the prediction's normalised 28x28 input (784 bytes) and that label are kept, "
        "under `corrections/`, to train the network again; never the uploaded file. The bucket deletes them "
        "after 365 days. A second correction of the same prediction replaces the first. Without consent or "
        "with another value: 422 `validation_error`; when the prediction's files are gone (deleted, or "
        "expired after a day): 404 `not_found`. There is no route that lists corrections."
    ),
    responses=error_responses(404, 422, 503),
)
async def correct_prediction(
    prediction_id: str, correction: CorrectionRequest, recognizer: RecognizerDep
) -> CorrectionReceipt:
    validate_prediction_id(prediction_id)
    return await run_in_threadpool(partial(recognizer.correct, prediction_id, correction))
