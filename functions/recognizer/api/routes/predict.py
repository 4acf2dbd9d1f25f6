from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import RecognizerDep
from recognizer.api.errors import error_responses
from recognizer.api.outcome import record_predictions
from recognizer.api.uploads import json_body, read_image_upload
from recognizer.schemas import PredictionResponse, UploadReference

router = APIRouter(tags=["predict"])

ExplainQuery = Annotated[
    bool,
    Query(
        description="Add `explanation`: the evidence map of the answer over the 28x28 input (which pixels "
        "made it; occlusion, one more forward pass) and a PNG of it to lay over `input_url`."
    ),
]

# The body is read by hand (bounded, multipart or raw), so OpenAPI is told what it accepts.
IMAGE_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {
                            "type": "string",
                            "format": "binary",
                            "description": "{formats}, at most {max_upload}",
                        }
                    },
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": UploadReference.model_json_schema()},
        },
    }
}


@router.post(
    "/predict",
    response_model=PredictionResponse,
    summary="Recognise one handwritten digit",
    description=(
        "Upload an image of one digit (multipart field `image`, or the image as the raw "
        'body), or name a file sent to S3 with `POST /api/uploads` as JSON `{"upload_id": ...}` '
        "(read once, then deleted). Answers the digit, its confidence in percent, all ten probabilities and "
        "presigned links to the normalised 28x28 input and the feature-map grids; with `?explain=true` "
        "also the evidence map of the answer."
    ),
    responses=error_responses(400, 404, 413, 415, 422),
    openapi_extra=IMAGE_UPLOAD_BODY,
)
async def predict(request: Request, recognizer: RecognizerDep, explain: ExplainQuery = False) -> PredictionResponse:
    reference = await json_body(request, UploadReference)
    if reference is not None:
        answer = await run_in_threadpool(partial(recognizer.predict_sent_to_s3, reference.upload_id, explain=explain))
    else:
        data = await read_image_upload(request, recognizer.settings)
        answer = await run_in_threadpool(partial(recognizer.predict_digit, data, explain=explain))
    record_predictions(request, (answer.predicted_digit,))
    return answer
