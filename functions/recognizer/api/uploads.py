"""Reading uploads from a request without ever holding more than the limit allows.

The declared Content-Length is checked first; the body is then read chunk by chunk and refused
as soon as it passes the limit (a chunked or lying client cannot make us buffer more). Multipart
bodies are parsed from the bytes read, so every route that takes files shares these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from recognizer.errors import (
    ClientError,
    MissingUpload,
    UnsupportedMediaType,
    UploadTooLarge,
)
from recognizer.settings import Settings
from recognizer.sizes import size_text

# Room for multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MULTIPART = "multipart/form-data"
# Bodies that are certainly not an image file; anything else sent raw goes to the decoder,
# which recognises images from their bytes (curl --data-binary says x-www-form-urlencoded).
_NOT_IMAGE_PREFIXES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


JSON = "application/json"
_REFERENCE_BYTES = 64 * 1024  # a JSON body naming uploads is small


Model = TypeVar("Model", bound=BaseModel)


async def json_body(request: Request, model: type[Model]) -> Model | None:
    """A JSON body as ``model`` (files sent to S3, named by upload_id), or None when the body is
    not JSON (the image itself is in the request). Any other JSON is not an image: 415."""
    if media_type(request) != JSON:
        return None
    body = await read_body(request, _REFERENCE_BYTES)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        fields = ", ".join(f'"{name}"' for name in model.model_fields)
        raise UnsupportedMediaType(
            f"a JSON body names files sent with POST /api/uploads ({{{fields}: ...}}; here: {problems}); "
            "otherwise send the image as multipart/form-data or as the body itself"
        ) from None


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or UploadTooLarge as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise ClientError("the Content-Length header is not a number") from None
        if declared_size > limit:
            raise UploadTooLarge(f"the request body is larger than {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(f"the request body is larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_multipart(
    request: Request, *, max_body_bytes: int, max_files: int, max_file_bytes: int
) -> list[UploadedFile]:
    """Every file part of a multipart/form-data body, in order (text fields are ignored)."""
    body = await read_body(request, max_body_bytes)

    async def replay_body() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    parts: list[UploadedFile] = []
    try:
        async with Request(request.scope, replay_body).form(max_files=max_files, max_fields=max_files + 16) as form:
            for field, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    continue
                data = await value.read()
                if len(data) > max_file_bytes:
                    raise UploadTooLarge(f"file {value.filename or field!r} is larger than {max_file_bytes:,} bytes")
                parts.append(UploadedFile(field, value.filename, value.content_type, data))
    except (MultiPartException, HTTPException) as exc:
        detail = getattr(exc, "message", None) or getattr(exc, "detail", "")
        raise ClientError(f"the multipart body cannot be parsed: {detail}") from exc
    return parts


def too_large_for_a_request(settings: Settings) -> str:
    """Why a file is refused in the request itself, and the way that takes it."""
    return (
        f"the file is larger than {size_text(settings.max_upload_bytes)}, the most a request may carry; "
        f"send a bigger file (up to {size_text(settings.max_s3_upload_bytes)}) through POST /api/uploads, "
        'then {"upload_id": ...} here'
    )


async def read_image_upload(request: Request, settings: Settings, field: str = "image") -> bytes:
    """One image: multipart field ``field``, or the raw body (``image/*`` and the like). Over the
    limit: 413 saying the limit as documented, and that POST /api/uploads takes bigger files."""
    try:
        return await _image_in_request(request, settings, field)
    except UploadTooLarge:
        raise UploadTooLarge(too_large_for_a_request(settings)) from None


async def _image_in_request(request: Request, settings: Settings, field: str) -> bytes:
    kind = media_type(request)
    if kind == MULTIPART:
        files = await read_multipart(
            request,
            max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
            max_files=4,
            max_file_bytes=settings.max_upload_bytes,
        )
        chosen = next((part for part in files if part.field == field), None)
        if chosen is None:
            sent = ", ".join(sorted({part.field for part in files})) or "no file fields"
            raise MissingUpload(f"send the image as multipart form field {field!r} (got: {sent})")
        data = chosen.data
    else:
        data = await read_body(request, settings.max_upload_bytes)
        if data and kind.startswith(_NOT_IMAGE_PREFIXES):
            raise UnsupportedMediaType(
                f"a {kind} body is not an image: send multipart/form-data with field "
                f"{field!r}, or the image file itself as the body"
            )
    if not data:
        raise MissingUpload(
            f"no image: send multipart/form-data with a file in field {field!r}, or the image file itself as the body"
        )
    return data
