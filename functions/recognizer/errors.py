"""Client-facing errors: each maps to one HTTP status and a stable machine-readable code.

Every error a client can cause is raised as a ``ClientError`` subclass; the API turns it into
``{"error": {"code": ..., "message": ...}}`` with its status. Anything else is a server bug.
"""

from __future__ import annotations


class ClientError(Exception):
    """An error caused by the request, answered with a 4xx status."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UploadTooLarge(ClientError):
    status_code = 413
    code = "file_too_large"


class TooManyPixels(ClientError):
    status_code = 413
    code = "image_too_large"


class UnsupportedMediaType(ClientError):
    status_code = 415
    code = "unsupported_media_type"


class InvalidImage(ClientError):
    status_code = 422
    code = "invalid_image"


class NoDigitFound(ClientError):
    status_code = 422
    code = "no_digit_found"


class MissingUpload(ClientError):
    status_code = 422
    code = "missing_image"


class PredictionNotFound(ClientError):
    status_code = 404
    code = "not_found"


class InvalidPredictionId(ClientError):
    status_code = 422
    code = "invalid_prediction_id"


class TooManyFiles(ClientError):
    status_code = 413
    code = "too_many_files"


class BatchTooLarge(ClientError):
    status_code = 413
    code = "batch_too_large"
