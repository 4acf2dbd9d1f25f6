"""Several images in one request, each answered in order with its prediction or its own error."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import RecognizerDep
from recognizer.api.errors import error_responses
from recognizer.api.outcome import record_predictions
from recognizer.api.uploads import (
    MULTIPART,
    MULTIPART_OVERHEAD_BYTES,
    UploadedFile,
    json_body,
    media_type,
    read_multipart,
)
from recognizer.errors import (
    BatchTooLarge,
    ClientError,
    MissingUpload,
    TooManyFiles,
    UnsupportedMediaType,
    UploadTooLarge,
)
from recognizer.schemas import BatchPrediction, BatchResponse, UploadReferences
from recognizer.settings import Settings

FIELD = "images"

router = APIRouter(tags=["predict"])

BATCH_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Up to {max_batch_files} image files ({max_batch_bytes} in all), one field each",
                        }
                    },
                }
            }
        },
    }
}


async def read_batch(request: Request, settings: Settings) -> list[UploadedFile]:
    """The files sent as ``images`` fields, in order, within the batch's limits."""
    if media_type(request) != MULTIPART:
        raise UnsupportedMediaType(f"send the images as multipart/form-data fields named {FIELD!r}")
    limit = settings.max_batch_bytes
    try:
        parts = await read_multipart(
            request,
            max_body_bytes=limit + MULTIPART_OVERHEAD_BYTES,
            max_files=settings.max_batch_files,
            max_file_bytes=limit,  # an oversized file fails alone (413 in its own result)
        )
    except UploadTooLarge as exc:
        raise BatchTooLarge(f"a batch is at most {limit:,} bytes in all ({exc.message})") from exc
    except ClientError as exc:
        # Starlette says "Too many files" (as a MultiPartException or a 400 HTTPException).
        cause = exc.__cause__
        detail = str(getattr(cause, "message", None) or getattr(cause, "detail", ""))
        if "too many files" in detail.lower():
            raise TooManyFiles(f"at most {settings.max_batch_files} files per batch") from exc
        raise
    files = [part for part in parts if part.field == FIELD]
    if not files:
        sent = ", ".join(sorted({part.field for part in parts})) or "no file fields"
        raise MissingUpload(f"send the images as multipart form fields named {FIELD!r} (got: {sent})")
    total = sum(len(part.data) for part in files)
    if total > limit:
        raise BatchTooLarge(f"the files total {total:,} bytes; a batch is at most {limit:,}")
    return files


@router.post(
    "/predict/batch",
    response_model=BatchResponse,
    summary="Recognise the digit in each of several images",
    description=(
        "Upload up to {max_batch_files} images ({max_batch_bytes} in all) as multipart fields named `images`, "
        'or name up to {max_batch_upload_ids} files sent to S3 with `POST /api/uploads` as JSON `{"upload_ids": [...]}` '
        "(each may be a big photo: that many fit in the function's time). Answers "
        "`results`, one per file in the order sent: the same prediction as `/api/predict` "
        'with the file\'s `filename`, or `{"filename", "error": {"code", "message"}}` '
        "for a file that cannot be read; one bad file does not fail the others. More files "
        "or bytes: 413 `too_many_files` / `batch_too_large`."
    ),
    responses=error_responses(400, 413, 415, 422),
    openapi_extra=BATCH_UPLOAD_BODY,
)
async def predict_batch(request: Request, recognizer: RecognizerDep) -> BatchResponse:
    references = await json_body(request, UploadReferences)
    if references is not None:
        # Each file sent to S3 may be a 12-megapixel photo: only as many as the function reads
        # within its time limit (MAX_BATCH_UPLOAD_IDS), however many files a batch may hold.
        limit = min(recognizer.settings.max_batch_upload_ids, recognizer.settings.max_batch_files)
        if len(references.upload_ids) > limit:
            raise TooManyFiles(
                f"at most {limit} upload_ids per batch ({len(references.upload_ids)} sent): "
                "send the rest in further batches"
            )
        sent = await run_in_threadpool(recognizer.predict_batch_sent_to_s3, references.upload_ids)
        record_predictions(request, (r.predicted_digit for r in sent if isinstance(r, BatchPrediction)))
        return BatchResponse(results=sent)
    files = await read_batch(request, recognizer.settings)
    # Files are read concurrently: storing one file's maps overlaps reading the next.
    results = await asyncio.gather(
        *(run_in_threadpool(recognizer.predict_file, file.filename, file.data) for file in files)
    )
    record_predictions(request, (r.predicted_digit for r in results if isinstance(r, BatchPrediction)))
    return BatchResponse(results=list(results))
