"""What can go wrong with a request, in the domain's words: no HTTP here.

Every error a client can cause is a ``ClientError`` subclass with a stable machine-readable
``code``; ``api.errors`` answers each with its HTTP status and ``{"error": {"code", "message"}}``,
the CLI prints the code and the message. Anything else is a server bug.
"""

from __future__ import annotations


class ClientError(Exception):
    """An error caused by the request (bad input), never by the service."""

    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UploadTooLarge(ClientError):
    """The upload has more bytes than the limit."""

    code = "file_too_large"


class TooManyPixels(ClientError):
    """The image declares more pixels than the limit."""

    code = "image_too_large"


class UnsupportedMediaType(ClientError):
    """Not an image format the service reads."""

    code = "unsupported_media_type"


class InvalidImage(ClientError):
    """An image format the service reads, but the file cannot be decoded."""

    code = "invalid_image"


class NoDigitFound(ClientError):
    """The image holds no ink worth calling a digit."""

    code = "no_digit_found"


class MissingUpload(ClientError):
    """No image was sent."""

    code = "missing_image"


class PredictionNotFound(ClientError):
    """Nothing is stored under this prediction id."""

    code = "not_found"


class InvalidPredictionId(ClientError):
    """Not a prediction id this service makes."""

    code = "invalid_prediction_id"


class TooManyFiles(ClientError):
    """A batch with more files than the limit."""

    code = "too_many_files"


class BatchTooLarge(ClientError):
    """A batch with more bytes in all than the limit."""

    code = "batch_too_large"


class UploadNotFound(ClientError):
    """Nothing was uploaded under this upload_id (never, expired, or already used)."""

    code = "upload_not_found"


class InvalidUploadId(ClientError):
    """An upload_id this service never makes."""

    code = "invalid_upload_id"


class StorageError(Exception):
    """S3 could not be reached or refused a call (a prediction is answered without maps; a
    deletion is answered 503)."""


class InvalidJobId(ClientError):
    """A job id this service never makes."""

    code = "invalid_job_id"


class JobNotFound(ClientError):
    """No job under this id (never made, or expired)."""

    code = "job_not_found"


class JobAlreadyStarted(ClientError):
    """A job is started once."""

    code = "job_already_started"


class JobHasNoFiles(ClientError):
    """A job started before any file was uploaded under its prefix."""

    code = "no_files"


class JobsUnavailable(Exception):
    """This deployment runs no bulk jobs (no state machine, no local stand-in): answered 503."""
