"""Big files straight to S3: a presigned POST, then a predict route answers the file by its id.

Lambda takes at most 6 MB of request and API Gateway base64-encodes uploads, so a phone photo
over 4 MiB can never reach the function directly. ``POST /api/uploads`` answers where and how to
send the file to the maps bucket (``uploads/{upload_id}``, its size and type fixed by S3's
policy); ``POST /api/predict``, ``/api/predict/multi`` and ``/api/predict/batch`` then take
``{"upload_id": ...}`` (``{"upload_ids": [...]}``), read the file once and delete it.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import RecognizerDep
from recognizer.api.errors import error_responses
from recognizer.schemas import UploadRequest, UploadTicket

router = APIRouter(tags=["uploads"])


@router.post(
    "/uploads",
    response_model=UploadTicket,
    status_code=status.HTTP_201_CREATED,
    summary="Send a big file straight to storage",
    description=(
        "For files over the direct limit ({max_upload}; a phone photo): answers a presigned POST "
        "to storage for one image of up to {max_s3_upload}. POST the file to `url` as "
        "multipart/form-data with every field of `fields` and then the file as field `file`; "
        'then send `{"upload_id": ...}` as JSON to `/api/predict` or `/api/predict/multi` '
        '(`{"upload_ids": [...]}` to `/api/predict/batch`). The file is read once and deleted; '
        "one never sent or already used is 404 `upload_not_found`."
    ),
    responses=error_responses(400, 413, 422, 503),
)
async def new_upload(request: UploadRequest, recognizer: RecognizerDep) -> UploadTicket:
    return await run_in_threadpool(recognizer.new_upload, request)
