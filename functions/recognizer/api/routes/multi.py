"""A row of digits in one image: the number, and each digit with its box (and maps on request)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import RecognizerDep
from recognizer.api.errors import error_responses
from recognizer.api.outcome import record_predictions
from recognizer.api.routes.predict import IMAGE_UPLOAD_BODY, ExplainQuery
from recognizer.api.uploads import json_body, read_image_upload
from recognizer.schemas import MultiPredictionResponse, UploadReference

router = APIRouter(tags=["predict"])


@router.post(
    "/predict/multi",
    response_model=MultiPredictionResponse,
    response_model_exclude_none=True,
    summary="Read a row of handwritten digits (a number)",
    description=(
        "Upload an image of a row of digits (multipart field `image`, or the image as the raw "
        "body). Answers the `number` read left to right and, per digit, its prediction and "
        "`box` `[x, y, w, h]` in the uploaded image's pixels. With `?feature_maps=true` each "
        "digit's normalised input and feature-map grids are stored and linked as well "
        "(slower). With `?explain=true` each digit has its `explanation` too (the evidence map of the digit "
        "the row answers). No digit in the image: 422 `no_digit_found`."
    ),
    responses=error_responses(400, 404, 413, 415, 422),
    openapi_extra=IMAGE_UPLOAD_BODY,
)
async def predict_multi(
    request: Request,
    recognizer: RecognizerDep,
    feature_maps: bool = Query(False, description="Store and link each digit's feature maps."),
    explain: ExplainQuery = False,
) -> MultiPredictionResponse:
    reference = await json_body(request, UploadReference)
    if reference is not None:
        read = partial(recognizer.read_row_sent_to_s3, reference.upload_id, feature_maps=feature_maps, explain=explain)
    else:
        read = partial(
            recognizer.read_row,
            await read_image_upload(request, recognizer.settings),
            feature_maps=feature_maps,
            explain=explain,
        )
    answer = await run_in_threadpool(read)
    record_predictions(request, (digit.predicted_digit for digit in answer.digits))
    return answer
