"""Every error the API answers has one shape: ``{"error": {"code": ..., "message": ...}}``.

Handlers cover our ClientErrors, FastAPI's request validation, Starlette's HTTP errors (404,
405, ...) and, last, anything unexpected (a 500 that says nothing about internals).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from recognizer import errors
from recognizer.api.outcome import record_error
from recognizer.errors import ClientError, JobsUnavailable, StorageError
from recognizer.schemas import ErrorResponse

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "file_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


# Each domain error's HTTP status (the most specific class listed wins; ClientError is 400).
CLIENT_ERROR_STATUS: dict[type[ClientError], int] = {
    errors.UploadTooLarge: 413,
    errors.TooManyPixels: 413,
    errors.TooManyFiles: 413,
    errors.BatchTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.InvalidImage: 422,
    errors.NoDigitFound: 422,
    errors.MissingUpload: 422,
    errors.InvalidPredictionId: 422,
    errors.PredictionNotFound: 404,
    errors.UploadNotFound: 404,
    errors.InvalidUploadId: 422,
    errors.InvalidJobId: 422,
    errors.JobNotFound: 404,
    errors.JobAlreadyStarted: 409,
    errors.JobHasNoFiles: 422,
}


def status_of(error: ClientError) -> int:
    """The HTTP status that answers ``error``."""
    for kind in type(error).__mro__:
        if kind in CLIENT_ERROR_STATUS:
            return CLIENT_ERROR_STATUS[kind]
    return 400


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: each listed status answers with ErrorResponse."""
    return {status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase} for status in statuses}


def error_response(
    request: Request, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    record_error(request, code)
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_client_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClientError)
    return error_response(request, status_of(exc), exc.code, exc.message)


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else phrase
    if status == 404 and message == phrase:
        message = f"no such resource: {request.url.path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(request, status, _HTTP_CODES.get(status, "http_error"), message, headers=exc.headers)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    message = "; ".join(str(problem) for problem in problems) or "the request is invalid"
    return error_response(request, 422, "validation_error", message)


async def handle_storage_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("storage failed on %s %s: %s", request.method, request.url.path, exc)
    return error_response(request, 503, "storage_unavailable", f"storage failed: {exc}")


async def handle_jobs_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, 503, "jobs_unavailable", f"bulk jobs are not available here: {exc}")


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "internal_error", "an internal error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientError, handle_client_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(StorageError, handle_storage_error)
    app.add_exception_handler(JobsUnavailable, handle_jobs_unavailable)
    app.add_exception_handler(Exception, handle_unexpected_error)
